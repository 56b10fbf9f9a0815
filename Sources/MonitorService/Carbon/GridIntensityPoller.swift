import CurlClient
import EnergyModel
import Kubernetes
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Keeps the carbon intensity of one Electricity Maps zone: asks for the latest intensity
/// every poll period (an hour by default), and for the last 24 hours' history at start and
/// after every failure, so that an outage of the API (or of this service) leaves no hole where
/// the API has figures. Every figure is cached in the store (`grid_intensity`), so the history
/// survives restarts and outages; the rates in force are the cache's.
///
/// Faults are counted (`energy_monitor_grid_intensity_requests_total{endpoint,result}`) and
/// logged once per change of kind: `429` waits for `Retry-After` (capped), `5xx` and transport
/// failures back off from a second to five minutes, a refused token or unknown zone waits for
/// the next poll period (the same request would fail again). The token appears in no log line.
final class GridIntensityPoller: Service, Sendable {
    private let api: ElectricityMapsClient
    private let store: EnergyStore
    private let rates: RatesCell
    private let logger: Logger
    private let counts: @Sendable (ElectricityMapsClient.Endpoint, ElectricityMapsClient.Failure.Kind) -> Void
    private let policy = RetryPolicy(
        backoffBaseMilliseconds: 1000, backoffMaxMilliseconds: 300_000, retryAfterMaxMilliseconds: 3_600_000)
    private struct State {
        var needsHistory = true
        var failures = 0
        var lastFault: ElectricityMapsClient.Failure.Kind?
    }
    private let state = Mutex(State())

    /// A poller of `settings`' zone writing to `store` and `rates`; `counts` counts each
    /// request's result.
    init(
        settings: ElectricityMapsSettings, client: CurlMultiClient, store: EnergyStore, rates: RatesCell,
        logger: Logger,
        counts: @escaping @Sendable (ElectricityMapsClient.Endpoint, ElectricityMapsClient.Failure.Kind) -> Void
    ) {
        self.api = ElectricityMapsClient(settings: settings, client: client)
        self.store = store
        self.rates = rates
        self.logger = logger
        self.counts = counts
    }

    /// Polls until graceful shutdown or cancellation.
    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled {
                let delay = await poll()
                do { try await Task.sleep(for: .milliseconds(delay)) } catch { return }
            }
        } onGracefulShutdown: {
        }
    }

    /// One round: the history when due, then the latest intensity; the figures cached and
    /// the rates reloaded from the cache. Returns how long to wait before the next round
    /// (milliseconds).
    func poll() async -> Int64 {
        let needsHistory = state.withLock { $0.needsHistory }
        var learned: [StepSeries.Step] = []
        do throws(ElectricityMapsClient.Failure) {
            if needsHistory {
                learned += try await fetch(.history)
            }
            learned += try await fetch(.latest)
        } catch {
            await keep(learned)
            return failed(error)
        }
        await keep(learned)
        let recovered = state.withLock { state -> ElectricityMapsClient.Failure.Kind? in
            defer {
                state.needsHistory = false
                state.failures = 0
                state.lastFault = nil
            }
            return state.lastFault
        }
        if let recovered {
            logger.info(
                "the Electricity Maps API answers again; the hours missed are filled from its history",
                metadata: ["zone": "\(api.settings.zone)", "after": "\(recovered.rawValue)"])
        }
        return api.settings.pollMilliseconds
    }

    private func fetch(_ endpoint: ElectricityMapsClient.Endpoint) async throws(ElectricityMapsClient.Failure)
        -> [StepSeries.Step]
    {
        do {
            let steps = try await api.fetch(endpoint)
            counts(endpoint, .ok)
            return steps
        } catch {
            counts(endpoint, error.kind)
            throw error
        }
    }

    /// Caches `steps` and reloads the rates from the cache.
    private func keep(_ steps: [StepSeries.Step]) async {
        guard !steps.isEmpty else { return }
        do {
            try await store.cacheIntensity(
                zone: api.settings.zone, steps: steps, fetchedMilliseconds: WallClock.nowMilliseconds())
            rates.setIntensity(try await store.cachedIntensity(zone: api.settings.zone))
        } catch {
            logger.error(
                "cannot cache the grid's carbon intensity",
                metadata: ["zone": "\(api.settings.zone)", "error": "\(error)"])
            // Still use what was learned, beside what the rates held.
            rates.setIntensity(StepSeries(steps: (rates.current.intensity?.steps ?? []) + steps))
        }
    }

    /// Records a failed round and returns the wait before the next.
    private func failed(_ failure: ElectricityMapsClient.Failure) -> Int64 {
        let (failures, changed) = state.withLock { state -> (Int, Bool) in
            state.needsHistory = true
            state.failures += 1
            defer { state.lastFault = failure.kind }
            return (state.failures, state.lastFault != failure.kind)
        }
        if changed {
            logger.warning(
                "the Electricity Maps API gave no carbon intensity; the cached figures stay in force",
                metadata: ["zone": "\(api.settings.zone)", "reason": "\(failure.kind.rawValue)", "error": "\(failure)"])
        }
        switch failure.kind {
        case .throttled:
            if let seconds = failure.retryAfterSeconds { return max(1000, policy.retryAfterMilliseconds(seconds)) }
            return policy.backoffMilliseconds(failures: failures, jitter: Double.random(in: 0..<1))
        case .server, .transport, .parse:
            return min(
                api.settings.pollMilliseconds,
                policy.backoffMilliseconds(failures: failures, jitter: Double.random(in: 0..<1)))
        case .auth, .notFound, .ok:
            return api.settings.pollMilliseconds
        }
    }
}
