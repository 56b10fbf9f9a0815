import EnergyModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A stand-in for the Electricity Maps API on loopback, for tests and trials without a token:
/// `GET /v3/carbon-intensity/latest?zone=` and `GET /v3/carbon-intensity/history?zone=` as the
/// API documents them (`{"zone","carbonIntensity","datetime","updatedAt",...}` and
/// `{"zone","history":[...]}`, hourly values), the `auth-token` header checked, and faults to
/// order: a status for every request (`401`, `404`, `500`), or `429` with `Retry-After`.
public final class GridSimulator: Sendable {
    /// What the simulator serves.
    public struct Configuration: Sendable {
        /// The token the `auth-token` header must carry.
        public var token: String
        /// The zones served; any other zone is `404`.
        public var zones: Set<String>
        /// The intensity of the hour starting at the given unix milliseconds (a whole hour).
        public var intensity: @Sendable (Int64) -> Double

        /// A simulator of `zones` with a daily curve: low at night, high in the evening.
        public init(
            token: String, zones: Set<String> = ["DE"],
            intensity: @escaping @Sendable (Int64) -> Double = GridSimulator.dailyCurve
        ) {
            self.token = token
            self.zones = zones
            self.intensity = intensity
        }
    }

    /// A fault answered to every request until cleared.
    public enum Fault: Sendable, Equatable {
        /// This status with an error body.
        case status(Int)
        /// `429 Too Many Requests` with `Retry-After` of this many seconds.
        case rateLimited(retryAfterSeconds: Int)
    }

    /// A daily curve between 150 and 450 g/kWh, by the hour of the day (UTC).
    public static let dailyCurve: @Sendable (Int64) -> Double = { hourStart in
        let hour = Int(truncatingIfNeeded: (hourStart / 3_600_000) % 24)
        return 300 + 150 * sin(Double(hour - 12) / 24 * 2 * Double.pi)
    }

    private struct State {
        var fault: Fault?
        var requests: [String] = []
        var tokensSeen: [String] = []
        var task: Task<Void, any Error>?
        var group: ServiceGroup?
        var port: Int?
    }

    /// The configuration served.
    public let configuration: Configuration
    private let state = Mutex(State())
    private let logger: Logger

    /// A simulator; nothing listens until `start()`.
    public init(configuration: Configuration, logger: Logger = Logger(label: "grid-simulator")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Sets (or clears, with nil) the fault every request gets.
    public func setFault(_ fault: Fault?) {
        state.withLock { $0.fault = fault }
    }

    /// The paths with queries asked so far, oldest first.
    public var requests: [String] { state.withLock { $0.requests } }

    /// `http://127.0.0.1:PORT`, once started.
    public var url: String? { state.withLock { $0.port }.map { "http://127.0.0.1:\($0)" } }

    /// Listens on `port` (0: any free one) and returns the bound port.
    @discardableResult
    public func start(port requested: Int = 0) async throws -> Int {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { [self] request, _ in self.respond(to: request) },
            configuration: .init(address: .hostname("127.0.0.1", port: requested), serverName: "grid-simulator"),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? requested) },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        state.withLock {
            $0.task = task
            $0.group = group
        }
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(20))
            continuation.finish()
        }
        defer { watchdog.cancel() }
        for await port in ports {
            state.withLock { $0.port = port }
            return port
        }
        task.cancel()
        throw SimulatorError(description: "grid simulator: could not listen on 127.0.0.1:\(requested)")
    }

    /// Stops listening.
    public func stop() async {
        let (task, group) = state.withLock { state -> (Task<Void, any Error>?, ServiceGroup?) in
            defer {
                state.task = nil
                state.group = nil
            }
            return (state.task, state.group)
        }
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    /// Why the simulator could not start.
    public struct SimulatorError: Error, CustomStringConvertible {
        /// One line.
        public var description: String
    }

    private func respond(to request: Request) -> Response {
        let path = request.uri.path
        let query = request.uri.query ?? ""
        let token = HTTPField.Name("auth-token").flatMap { request.headers[$0] } ?? ""
        let fault = state.withLock { state -> Fault? in
            state.requests.append(path + (query.isEmpty ? "" : "?" + query))
            return state.fault
        }
        switch fault {
        case .status(let status):
            return Self.json(status, #"{"status":"error","message":"simulated fault"}"#)
        case .rateLimited(let seconds):
            var response = Self.json(429, #"{"status":"error","message":"Too many requests"}"#)
            response.headers[.retryAfter] = String(seconds)
            return response
        case .none: break
        }
        guard token == configuration.token else {
            return Self.json(401, #"{"status":"error","message":"Invalid or missing auth-token"}"#)
        }
        let zone = request.uri.queryParameters.get("zone") ?? ""
        guard configuration.zones.contains(zone) else {
            return Self.json(404, #"{"status":"error","message":"Zone '\#(zone)' not found"}"#)
        }
        let now = WallClock.nowMilliseconds()
        let hour = now / 3_600_000 * 3_600_000
        switch path {
        case "/v3/carbon-intensity/latest":
            return Self.json(200, entry(zone: zone, hour: hour, now: now))
        case "/v3/carbon-intensity/history":
            let entries = (1...24).reversed().map {
                entry(zone: zone, hour: hour - Int64($0 - 1) * 3_600_000, now: now)
            }
            return Self.json(200, #"{"zone":"\#(zone)","history":[\#(entries.joined(separator: ","))]}"#)
        default:
            return Self.json(404, #"{"status":"error","message":"Not found"}"#)
        }
    }

    private func entry(zone: String, hour: Int64, now: Int64) -> String {
        let intensity = Int(clampingRounding: configuration.intensity(hour))
        return #"{"zone":"\#(zone)","carbonIntensity":\#(intensity),"datetime":"\#(Self.time(hour))","#
            + #""updatedAt":"\#(Self.time(now))","createdAt":"\#(Self.time(hour))","#
            + #""emissionFactorType":"lifecycle","isEstimated":false,"estimationMethod":null}"#
    }

    /// RFC 3339 with milliseconds, as the API writes its times.
    static func time(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    private static func json(_ status: Int, _ body: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
