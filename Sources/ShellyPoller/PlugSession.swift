import CurlClient
import EnergyModel
import Logging
import Synchronization

/// The result of one poll of one plug.
public struct PlugOutcome: Sendable {
    /// The node the plug powers.
    public var node: String
    /// The sample, or why there is none.
    public var result: Result<Sample, PollFailure>
    /// Wall time the poll took, in seconds.
    public var durationSeconds: Double

    /// Creates an outcome.
    public init(node: String, result: Result<Sample, PollFailure>, durationSeconds: Double) {
        self.node = node
        self.result = result
        self.durationSeconds = durationSeconds
    }
}

/// Talks to one plug: detects its generation and metering component once, then reads it.
///
/// Not an actor: each poll would hop onto it and back after every request, 5,000 times a
/// tick. A plug never has two requests in flight because its requests within a poll are
/// sequential and `PollLoop` starts the next tick's poll only after every poll of this one
/// has returned; the little state kept between polls sits in a `Mutex`.
public final class PlugSession: Sendable {
    /// How the plug is read once detected.
    enum Endpoint: Equatable {
        case gen1
        case rpc(MeterComponent)
    }

    /// What a session remembers between polls.
    private struct State {
        var endpoint: Endpoint?
        var consecutiveFailures = 0
    }

    /// The plug's configuration.
    public let plug: PlugConfiguration
    private let client: CurlMultiClient
    private let validator: ReadingValidator
    private let logger: Logger
    private let state: Mutex<State>

    /// Bodies larger than this are refused: a Shelly status is a few KiB.
    static let maxBodyBytes = 256 * 1024
    /// Headers larger than this are refused: a Shelly sends about 150 bytes of them.
    static let maxHeaderBytes = 16 * 1024
    /// libcurl's receive buffer per poll: a status and its headers fit in one read, and
    /// 5,000 polls in flight hold 20 MB of buffers instead of 80 MB at libcurl's default.
    static let receiveBufferBytes = 4 * 1024

    /// Creates a session; nothing is sent until `poll`.
    public init(plug: PlugConfiguration, client: CurlMultiClient, validator: ReadingValidator = ReadingValidator(), logger: Logger) {
        self.plug = plug
        self.client = client
        self.validator = validator
        var logger = logger
        logger[metadataKey: "node"] = "\(plug.node)"
        self.logger = logger
        self.state = Mutex(State(endpoint: plug.generation == .gen1 ? .gen1 : nil))
    }

    /// Reads the plug once, within `timeoutMilliseconds` in total.
    public func poll(timeoutMilliseconds: Int) async -> PlugOutcome {
        let started = WallClock.nowNanoseconds()
        let deadline = started + Int64(timeoutMilliseconds) * 1_000_000
        let result: Result<Sample, PollFailure>
        do {
            let (reading, rating, takenAt) = try await read(deadline: deadline)
            result = validator.validate(reading, rating: rating).map {
                Sample(node: plug.node, timestampMilliseconds: takenAt, reading: $0)
            }
        } catch {
            result = .failure(error)
        }
        if case .failure(let failure) = result {
            let generation = plug.generation
            state.withLock { state in
                state.consecutiveFailures += 1
                // After a run of failures, detect again: the plug may have been replaced or updated.
                if state.consecutiveFailures >= 10, generation != .gen1 {
                    state.endpoint = nil
                    state.consecutiveFailures = 0
                }
            }
            logger.debug("poll failed", metadata: ["reason": "\(failure.reason.rawValue)", "error": "\(failure.message)"])
        } else {
            state.withLock { $0.consecutiveFailures = 0 }
        }
        let duration = Double(WallClock.nowNanoseconds() - started) / 1e9
        return PlugOutcome(node: plug.node, result: result, durationSeconds: duration)
    }

    private func read(deadline: Int64) async throws(PollFailure) -> (Reading, MeterRating, Int64) {
        let endpoint: Endpoint
        if let known = state.withLock({ $0.endpoint }) {
            endpoint = known
        } else {
            let generation: ShellyGeneration
            if plug.generation == .rpc {
                generation = .rpc(2)
            } else {
                let (body, _) = try await get("/shelly", authenticated: false, generation: .gen1, deadline: deadline)
                let info: DeviceInfo
                do { info = try ShellyParser.deviceInfo(body) } catch { throw PollFailure(error.reason, error.message) }
                generation = info.generation
                if info.authenticationEnabled, plug.password == nil {
                    throw PollFailure(.auth, "device asks for a password and none is configured (passwordFile)")
                }
                logger.info("detected plug", metadata: ["generation": "\(info.generation)", "model": "\(info.model ?? "?")"])
            }
            switch generation {
            case .gen1:
                endpoint = .gen1
                state.withLock { $0.endpoint = .gen1 }
            case .rpc:
                // One Shelly.GetStatus finds the metering component and already is a reading.
                let (body, takenAt) = try await get(
                    "/rpc/Shelly.GetStatus", authenticated: true, generation: generation, deadline: deadline
                )
                let found: (MeterComponent, ParsedReading)?
                do { found = try ShellyParser.findMeter(inDeviceStatus: body, channel: plug.channel) } catch {
                    throw PollFailure(error.reason, error.message)
                }
                guard let (component, parsed) = found else {
                    throw PollFailure(.invalid, "device has no metering component with id \(plug.channel)")
                }
                state.withLock { $0.endpoint = .rpc(component) }
                logger.info("using component", metadata: ["component": "\(component)"])
                return (try Self.reading(parsed), MeterRating(component.kind), takenAt)
            }
        }
        switch endpoint {
        case .gen1:
            let (body, takenAt) = try await get("/status", authenticated: true, generation: .gen1, deadline: deadline)
            let parsed: (reading: ParsedReading, rating: MeterRating)
            do { parsed = try ShellyParser.gen1RatedStatus(body, channel: plug.channel) } catch {
                throw PollFailure(error.reason, error.message)
            }
            return (try Self.reading(parsed.reading), parsed.rating, takenAt)
        case .rpc(let component):
            let (body, takenAt) = try await get(component.statusPath, authenticated: true, generation: .rpc(2), deadline: deadline)
            let parsed: ParsedReading
            do { parsed = try ShellyParser.componentStatus(body, kind: component.kind) } catch {
                throw PollFailure(error.reason, error.message)
            }
            return (try Self.reading(parsed), MeterRating(component.kind), takenAt)
        }
    }

    private static func reading(_ parsed: ParsedReading) throws(PollFailure) -> Reading {
        switch parsed {
        case .reading(let reading): return reading
        case .noReading(let why): throw PollFailure(.invalid, why)
        }
    }

    /// GETs `path` before `deadline`; returns the body of a 2xx response and the time the
    /// reading was taken (the midpoint of the exchange, in unix milliseconds).
    private func get(
        _ path: String, authenticated: Bool, generation: ShellyGeneration, deadline: Int64
    ) async throws(PollFailure) -> ([UInt8], Int64) {
        let start = WallClock.nowNanoseconds()
        let remaining = Int((deadline - start) / 1_000_000)
        guard remaining > 0 else { throw PollFailure(.timeout, "no time left for \(path)") }
        var authentication: HTTPAuthentication?
        if authenticated, let password = plug.password {
            switch generation {
            case .gen1: authentication = .basic(username: plug.username, password: password)
            case .rpc: authentication = .digest(username: plug.username, password: password)
            }
        }
        let request = HTTPRequest(
            url: plug.baseURL + path,
            authentication: authentication,
            timeoutMilliseconds: remaining,
            maxResponseBytes: Self.maxBodyBytes,
            maxHeaderBytes: Self.maxHeaderBytes,
            receiveBufferBytes: Self.receiveBufferBytes
        )
        let response: HTTPResponse
        do {
            response = try await client.perform(request)
        } catch let error as HTTPClientError {
            switch error {
            case .timeout: throw PollFailure(.timeout, "\(path): no answer within \(remaining) ms")
            case .connect(let message): throw PollFailure(.connect, "\(path): \(message)")
            case .responseTooLarge(let limit): throw PollFailure(.invalid, "\(path): body larger than \(limit) bytes")
            case .headersTooLarge(let limit): throw PollFailure(.invalid, "\(path): headers larger than \(limit) bytes")
            case .tls(let message), .transport(let message): throw PollFailure(.connect, "\(path): \(message)")
            case .shutdown: throw PollFailure(.connect, "\(path): shutting down")
            }
        } catch {
            throw PollFailure(.connect, "\(path): \(error)")
        }
        let end = WallClock.nowNanoseconds()
        switch response.status {
        case 200..<300:
            return (response.body, (start + end) / 2 / 1_000_000)
        case 401:
            let hint = plug.password == nil ? " (no password configured)" : " (wrong user or password)"
            throw PollFailure(.auth, "\(path): HTTP 401\(hint)")
        default:
            throw PollFailure(.http, "\(path): HTTP \(response.status)")
        }
    }
}
