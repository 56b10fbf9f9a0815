import ArgumentParser
import CurlClient
import EnergyModel
import EnergyQueries
import Kubernetes
import Logging
import Store

/// `--kubeconfig` and `--context`, shared by the commands that read the Kubernetes API.
struct KubernetesOptions: ParsableArguments {
    @Option(name: .long, help: "Kubeconfig file (default: in-cluster, $KUBECONFIG or ~/.kube/config).")
    var kubeconfig: String?

    @Option(name: .long, help: "Kubeconfig context (default: its current-context).")
    var context: String?

    /// GETs `path` with these options; failures are one line prefixed with `what`.
    func get(_ path: String, what: String) async throws -> [UInt8] {
        try await CommandSupport.kubernetesGet(path, kubeconfig: kubeconfig, context: context, what: what)
    }

    /// Lists the collection at `path` in pages (`limit`/`continue`), handing each page's
    /// objects to `onPage`; failures are one line prefixed with `what`.
    func list(_ path: String, what: String, onPage: (KubernetesClient.ListPage) -> Void) async throws {
        try await CommandSupport.withKubernetes(kubeconfig: kubeconfig, context: context, what: what) {
            (client) throws(KubernetesRequestError) in
            _ = try await client.list(path: path, onPage: onPage)
        }
    }
}

/// Helpers shared by the commands that read the cluster or the store.
enum CommandSupport {
    /// The log of the commands that print results: on standard error, so that a warning
    /// never lands in the CSV or table on standard output.
    static let logger = Logger(label: "energy-monitor") {
        EscapingLogHandler(StreamLogHandler.standardError(label: $0))
    }

    /// How long a command waits for each API request: as long as `check` and `workflow` do
    /// (kubectl waits without end; a busy API server or exec plugin takes seconds).
    static let requestTimeoutMilliseconds = 15_000

    /// GETs `path` from the Kubernetes API the way kubectl would connect: the given
    /// kubeconfig (and context), else in-cluster, `$KUBECONFIG` or `~/.kube/config`.
    /// Failures become one line prefixed with `what`.
    static func kubernetesGet(_ path: String, kubeconfig: String?, context: String?, what: String) async throws
        -> [UInt8]
    {
        try await withKubernetes(kubeconfig: kubeconfig, context: context, what: what) {
            (client) throws(KubernetesRequestError) in
            try await client.get(path: path)
        }
    }

    /// Runs `body` with a client connected the way kubectl would connect; failures (of the
    /// connection or the requests) are one line prefixed with `what`.
    static func withKubernetes<T>(
        kubeconfig: String?, context: String?, what: String,
        _ body: (KubernetesClient) async throws(KubernetesRequestError) -> T
    ) async throws -> T {
        let connection: KubernetesConnection
        do {
            connection = try KubernetesConnection.resolve(kubeconfig: kubeconfig, context: context, logger: logger)
        } catch {
            throw CommandFailure("\(what): \(error)")
        }
        let http = CurlMultiClient()
        defer { http.shutdown() }
        let client = KubernetesClient(
            connection: connection, http: http, logger: logger, timeoutMilliseconds: requestTimeoutMilliseconds)
        do {
            return try await body(client)
        } catch {
            throw CommandFailure("\(what): \(error)")
        }
    }

    /// A duration option given in seconds (`--duration 90`, `--timeout 0.5`): finite and in
    /// `range`, else one line naming the option. Never converted with a trap.
    static func seconds(_ value: Double, option: String, range: ClosedRange<Double>) throws -> Duration {
        guard value.isFinite, range.contains(value), let milliseconds = Int64(rounding: value * 1000) else {
            throw ValidationError(
                "\(option): \(value) is not a number of seconds in \(range.lowerBound)...\(range.upperBound)")
        }
        return .milliseconds(milliseconds)
    }

    /// The longest `--duration` any command accepts: a year.
    static let maxDurationSeconds = 31_536_000.0

    /// The poll interval for energy queries: `--interval` when given, else the one the
    /// service recorded in the store, else 1 s.
    static func interval(_ override: String?, store: EnergyStore) async throws -> Int64 {
        var milliseconds: Int64?
        if let override {
            do { milliseconds = try DurationParsing.milliseconds(override) } catch {
                throw ValidationError("--interval: \(error)")
            }
        }
        return try await EnergyReport.intervalMilliseconds(of: store, override: milliseconds, fallback: 1000)
    }

    /// The rates of `settings`, the intensity of Electricity Maps read from the store's cache.
    static func rates(_ settings: FootprintSettings, store: EnergyStore) async throws -> FootprintRates {
        var cached: StepSeries?
        if case .electricityMaps(let maps) = settings.carbon {
            cached = try await store.cachedIntensity(zone: maps.zone)
        }
        return settings.rates(cached: cached)
    }
}
