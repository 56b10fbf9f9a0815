import CurlClient
import EnergyModel
import JSON
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The result of one poll of one plug.
public struct PlugOutcome: Sendable {
    /// The node the plug powers.
    public var node: String
    /// The sample, or why there is none.
    public var result: Result<Sample, PollFailure>
    /// Wall time the poll took, in seconds.
    public var durationSeconds: Double
    /// The device's health, when this poll read it (about once a minute).
    public var health: DeviceHealth?
    /// Each meter's watts, for a node with several meters (empty otherwise).
    public var meters: [MeterReading] = []
    /// The device's uptime, seconds, when this poll read it: with the health, on every Gen1
    /// status, and at once when the device counter fell (see `PlugSession.deviceUptime`).
    public var deviceUptimeSeconds: Double?
    /// The most power the meter can report, watts (the plug's `maxWatts`, else its rating):
    /// the bound of its energy counter's rise.
    public var maximumWatts: Double?
    /// The per-minute energy figures the status carried (Gen2+ `aenergy.by_minute`, Gen1
    /// `meters[].counters`).
    public var deviceMinutes: DeviceMinutes?
    /// Whether the device keeps a history of per-minute records for the meter read (EMData,
    /// EM1Data, Gen1 `em_data.csv`), that a gap's energy can be read from.
    public var keepsHistory = false
    /// The history read in this poll, when one was asked (`PlugSession.requestHistory`).
    public var history: HistoryRead?

    /// Creates an outcome.
    public init(node: String, result: Result<Sample, PollFailure>, durationSeconds: Double, health: DeviceHealth? = nil)
    {
        self.node = node
        self.result = result
        self.durationSeconds = durationSeconds
        self.health = health
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
        /// With a password: the API family and identity the credentials go to (see `PinRule`),
        /// as stored before or made by this session. A later `/shelly` that claims another
        /// family or identity is refused, so a Gen2+ password never goes out as Basic auth to
        /// whoever answers on the plug's address, not even after a restart.
        var pin: PlugPin?
        /// Whether a refusal by the pin was logged since the last good poll (one line a plug).
        var loggedPinRefusal = false
        /// With `generation:` set and a password: whether the pin has been brought in line
        /// with the configuration and the device's identity, and when to try that again
        /// (monotonic nanoseconds) after `/shelly` could not be read.
        var pinConfirmed = false
        var nextConfirmationAt: Int64 = 0
        /// No request before this (monotonic nanoseconds): the device answered 429.
        var throttledUntil: Int64 = 0
        /// The last refusal logged (a downgrade, an algorithm), so it is logged once.
        var loggedRefusal: String?
        /// `transport: auto`: HTTP until this (monotonic nanoseconds), after the WebSocket upgrade was
        /// refused or the connection went silent.
        var httpUntil: Int64 = 0
        /// The device's identity (model, generation, firmware), once known.
        var device: DeviceHealth?
        /// The next poll at or after this (monotonic nanoseconds) reads the device's health too.
        var nextHealthAt: Int64 = 0
        /// The generation `/shelly` last named, and when (monotonic nanoseconds): a plug
        /// whose status keeps failing after detection is not asked `/shelly` again (two
        /// requests and a log line a tick) until `detectionIntervalNanoseconds` has passed.
        var detected: (generation: ShellyGeneration, model: String?, at: Int64)?
        /// When `/shelly` was last asked (monotonic nanoseconds), and whether a poll has
        /// succeeded since: a plug that worked and then fails ten times is detected again at
        /// once (it may have been replaced); one that has not worked since, once a minute.
        var lastDetection: Int64?
        var succeededSinceDetection = false
    }

    /// The plug's configuration.
    public let plug: PlugConfiguration
    private let client: CurlMultiClient
    private let validator: ReadingValidator
    private let logger: Logger
    private let state: Mutex<State>
    /// The Digest state of a Gen2+ plug with a password: its nonce outlives the poll.
    private let digest: DigestAuthenticator?
    /// The persistent RPC channel of a Gen2+ plug, unless its transport is `http`.
    private let webSocket: (any RPCTransport)?
    /// The device counter last read (see `deviceUptime`).
    let counterWatch = Mutex(CounterWatch())
    /// The history asked for a gap, and how far it has been read (see `PlugSession+History`).
    let historyState = Mutex(HistoryState())
    /// Called with every pin this session makes or updates, to be stored.
    private let onPin: (@Sendable (PlugPin) -> Void)?

    /// Bodies larger than this are refused: a Shelly status is a few KiB.
    static let maxBodyBytes = 256 * 1024
    /// Headers larger than this are refused: a Shelly sends about 150 bytes of them.
    static let maxHeaderBytes = 16 * 1024
    /// libcurl's receive buffer per poll: a status and its headers fit in one read, and
    /// 5,000 polls in flight hold 20 MB of buffers instead of 80 MB at libcurl's default.
    static let receiveBufferBytes = 4 * 1024

    /// Creates a session; nothing is sent until `poll`. `pin` is the plug's stored pin, if any
    /// (it only matters when the plug has a password); `onPin` is called with every pin the
    /// session makes or updates (see `PinRule`), and must not block.
    public init(
        plug: PlugConfiguration, client: CurlMultiClient, validator: ReadingValidator = ReadingValidator(),
        pin: PlugPin? = nil, onPin: (@Sendable (PlugPin) -> Void)? = nil,
        logger: Logger
    ) {
        self.plug = plug
        self.client = client
        self.validator = validator
        var logger = logger
        logger[metadataKey: "node"] = "\(plug.node)"
        self.logger = logger
        var initial = State(endpoint: plug.generation == .gen1 ? .gen1 : nil)
        initial.pin = pin
        self.state = Mutex(initial)
        self.onPin = onPin
        self.digest = plug.password.map {
            DigestAuthenticator(username: plug.username, password: $0, allowMD5: plug.allowMD5)
        }
        if plug.transport != .http, plug.generation != .gen1 {
            let source = "energy-monitor-\(plug.node)"
            if plug.baseURL.hasPrefix("https://") {
                // TLS comes with hummingbird-websocket's client.
                self.webSocket = RPCWebSocket(
                    url: "wss://" + plug.baseURL.dropFirst(8) + "/rpc", source: source,
                    eventLoopGroup: Self.eventLoopGroup, logger: logger)
            } else {
                self.webSocket = EventLoopRPCWebSocket(
                    baseURL: plug.baseURL, source: source, eventLoopGroup: Self.eventLoopGroup, logger: logger)
            }
        } else {
            self.webSocket = nil
        }
    }

    /// The event loops of every plug's WebSocket: one per core, shared by the plugs and by no
    /// one else. NIO's singleton group also runs the HTTP servers, whose connections a flood
    /// of requests keeps busy; a plug's reply must not wait behind them.
    static let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    /// `transport: auto` uses HTTP this long after the device refused the WebSocket upgrade...
    static let refusedFallbackMilliseconds: Int64 = 600_000
    /// ...and this long after a WebSocket call went unanswered.
    static let silentFallbackMilliseconds: Int64 = 60_000

    /// Whether the plug's RPC calls go over its WebSocket now.
    public var usesWebSocket: Bool {
        webSocket != nil && MonotonicClock.nowNanoseconds() >= state.withLock { $0.httpUntil }
    }

    /// Closes the plug's WebSocket, if any.
    public func close() {
        webSocket?.close()
    }

    /// How long a device's 429 keeps this plug from sending anything, when the answer names
    /// no `Retry-After`: Shelly firmware 2.x throttles for 2 s.
    static let throttleMilliseconds: Int64 = 2000
    /// The longest `Retry-After` honoured.
    static let maxThrottleMilliseconds: Int64 = 60_000
    /// Challenges one poll answers: its first, and one more when the nonce it got went stale
    /// before the answer reached the device (a loaded machine, a short nonce lifetime). The
    /// credentials were right then; another refusal is not about time.
    static let maxChallengesPerPoll = 2

    /// The nonce of the plug's Digest session, if any (for tests and diagnostics).
    public var digestNonce: String? { digest?.nonce }

    /// Reads the plug once, within `timeoutMilliseconds` in total.
    public func poll(timeoutMilliseconds: Int) async -> PlugOutcome {
        // Deadlines and durations on the monotonic clock: a step of the wall clock neither
        // cuts a poll short nor stretches it; only the sample's stamp is wall-clock time.
        let started = MonotonicClock.nowNanoseconds()
        let deadline = started + Int64(timeoutMilliseconds) * 1_000_000
        let result: Result<Sample, PollFailure>
        var health: DeviceHealth?
        var uptime: Double?
        var maximumWatts: Double?
        var minutes: DeviceMinutes?
        var historyEndpoint: HistoryEndpoint?
        do throws(PollFailure) {
            let until = state.withLock { $0.throttledUntil }
            if started < until {
                throw PollFailure(
                    .throttled, "device throttles authentication; next request in \((until - started) / 1_000_000) ms")
            }
            let read = try await read(deadline: deadline)
            // The same moment on the monotonic clock: the wall-clock stamp is the exchange's
            // midpoint, a few milliseconds ago; the energy between samples is measured on it.
            let monotonicAt = MonotonicClock.nowNanoseconds() / 1_000_000 - (WallClock.nowMilliseconds() - read.takenAt)
            health = read.health
            let known = read.uptime ?? read.health?.uptimeSeconds
            // A gap is more than 3 intervals without a sample; the timeout is 80 % of one.
            uptime = await deviceUptime(
                counter: read.reading.energyWattHours, known: known,
                pauseMilliseconds: Int64(timeoutMilliseconds) * 15 / 4,
                deadline: deadline)
            maximumWatts = plug.maxWatts ?? read.rating.maximumWatts
            minutes = read.minutes
            historyEndpoint = read.history
            result = validator.validate(read.reading, rating: read.rating).map {
                Sample(
                    node: plug.node, timestampMilliseconds: read.takenAt, reading: $0,
                    monotonicMilliseconds: monotonicAt)
            }
        } catch {
            result = .failure(error)
        }
        if case .failure(let failure) = result {
            let generation = plug.generation
            let now = MonotonicClock.nowNanoseconds()
            state.withLock { state in
                state.consecutiveFailures += 1
                // After a run of failures, detect again (the plug may have been replaced or
                // updated), at most once a minute.
                if state.consecutiveFailures >= 10, generation != .gen1,
                    state.succeededSinceDetection
                        || state.lastDetection.map({ now - $0 >= Self.detectionIntervalNanoseconds }) ?? true
                {
                    state.endpoint = nil
                    state.detected = nil
                    state.consecutiveFailures = 0
                }
            }
            logger.debug(
                "poll failed", metadata: ["reason": "\(failure.reason.rawValue)", "error": "\(failure.message)"])
        } else {
            state.withLock {
                $0.consecutiveFailures = 0
                $0.loggedRefusal = nil
                $0.loggedPinRefusal = false
                $0.succeededSinceDetection = true
            }
        }
        let duration = Double(MonotonicClock.nowNanoseconds() - started) / 1e9
        var outcome = PlugOutcome(node: plug.node, result: result, durationSeconds: duration, health: health)
        outcome.deviceUptimeSeconds = uptime
        outcome.maximumWatts = maximumWatts
        outcome.deviceMinutes = minutes
        outcome.keepsHistory = historyEndpoint != nil
        if let historyEndpoint { outcome.history = await readHistory(historyEndpoint, deadline: deadline) }
        return outcome
    }

    /// Whether the plug is read through the RPC API (Gen2+).
    var readsRPC: Bool {
        state.withLock { state in
            if case .rpc = state.endpoint { return true }
            return false
        }
    }

    /// A reading, the meter's rating, the time it was taken, the device's health when it
    /// was due (about once a minute; never an extra request per tick), and its uptime where
    /// the status carries it (every Gen1 status does).
    private typealias Read = (
        reading: Reading, rating: MeterRating, takenAt: Int64, health: DeviceHealth?, uptime: Double?,
        minutes: DeviceMinutes?, history: HistoryEndpoint?
    )

    private func read(deadline: Int64) async throws(PollFailure) -> Read {
        await confirmPinIfDue(deadline: deadline)
        let endpoint: Endpoint
        if let known = state.withLock({ $0.endpoint }) {
            endpoint = known
        } else {
            let generation: ShellyGeneration
            let now = MonotonicClock.nowNanoseconds()
            let recent = state.withLock { state in
                state.detected.flatMap { now - $0.at < Self.detectionIntervalNanoseconds ? $0.generation : nil }
            }
            if plug.generation == .rpc {
                generation = .rpc(2)
            } else if let recent {
                // Detected within the last minute, but the status then failed: read the status
                // again without asking `/shelly` (or logging the detection) once more.
                generation = recent
            } else {
                let (body, _) = try await get("/shelly", authenticated: false, generation: .gen1, deadline: deadline)
                let info: DeviceInfo
                do { info = try ShellyParser.deviceInfo(body) } catch { throw PollFailure(error.reason, error.message) }
                generation = info.generation
                if info.authenticationEnabled, plug.password == nil {
                    throw PollFailure(.auth, "device asks for a password and none is configured (passwordFile)")
                }
                try checkPin(info)
                let previous = state.withLock { state -> (generation: ShellyGeneration, model: String?, at: Int64)? in
                    defer {
                        state.device = DeviceHealth(
                            model: info.model, generation: "\(info.generation)", firmware: info.firmware)
                        state.detected = (info.generation, info.model, now)
                        state.lastDetection = now
                        state.succeededSinceDetection = false
                    }
                    return state.detected
                }
                if previous == nil || previous?.generation != info.generation || previous?.model != info.model {
                    logger.info(
                        "detected plug",
                        metadata: ["generation": "\(info.generation)", "model": "\(info.model ?? "?")"])
                }
            }
            switch generation {
            case .gen1:
                endpoint = .gen1
                state.withLock { $0.endpoint = .gen1 }
            case .rpc:
                // One Shelly.GetStatus finds the metering component and already is a reading.
                let (body, takenAt) = try await rpc("Shelly.GetStatus", id: nil, deadline: deadline)
                let found: (MeterComponent, ParsedReading)?
                do { found = try ShellyParser.findMeter(inDeviceStatus: body, channel: plug.channel) } catch {
                    throw PollFailure(error.reason, error.message)
                }
                guard let (component, parsed) = found else {
                    throw PollFailure(.invalid, "device has no metering component with id \(plug.channel)")
                }
                state.withLock { $0.endpoint = .rpc(component) }
                logger.info("using component", metadata: ["component": "\(component)"])
                let health = await healthIfDue(deadline: deadline) {
                    ShellyParser.rpcHealth(body, component: component)
                }
                return (
                    try Self.reading(parsed), MeterRating(component.kind), takenAt, health, nil,
                    ShellyParser.rpcMinutes(body, component: component, takenAt: takenAt), HistoryEndpoint(component)
                )
            }
        }
        switch endpoint {
        case .gen1:
            let (body, takenAt) = try await get("/status", authenticated: true, generation: .gen1, deadline: deadline)
            let parsed: (reading: ParsedReading, rating: MeterRating)
            let json: JSONValue
            do {
                json = try ShellyParser.json(body)
                parsed = try ShellyParser.gen1RatedStatus(json: json, channel: plug.channel)
            } catch {
                throw PollFailure(error.reason, error.message)
            }
            // Every Gen1 status carries the health figures: read them when due.
            let health = await healthIfDue(deadline: deadline) { ShellyParser.gen1Health(json) }
            return (
                try Self.reading(parsed.reading), parsed.rating, takenAt, health, json["uptime"]?.number,
                ShellyParser.gen1Minutes(json, channel: plug.channel, takenAt: takenAt),
                parsed.rating == .singlePhaseMeter ? .gen1CSV(channel: plug.channel) : nil
            )
        case .rpc(let component):
            if isHealthDue {
                // Once a minute the whole Shelly.GetStatus instead of the component's: the same
                // one request, with the reading and the device's health.
                let (body, takenAt) = try await rpc("Shelly.GetStatus", id: nil, deadline: deadline)
                let parsed: ParsedReading
                do { parsed = try ShellyParser.componentStatus(inDeviceStatus: body, component: component) } catch {
                    throw PollFailure(error.reason, error.message)
                }
                let health = await healthIfDue(deadline: deadline) {
                    ShellyParser.rpcHealth(body, component: component)
                }
                return (
                    try Self.reading(parsed), MeterRating(component.kind), takenAt, health, nil,
                    ShellyParser.rpcMinutes(body, component: component, takenAt: takenAt), HistoryEndpoint(component)
                )
            }
            let (body, takenAt) = try await rpc(
                "\(component.kind.rpcNamespace).GetStatus", id: component.id, deadline: deadline)
            let parsed: ParsedReading
            do { parsed = try ShellyParser.componentStatus(json: body, kind: component.kind) } catch {
                throw PollFailure(error.reason, error.message)
            }
            return (
                try Self.reading(parsed), MeterRating(component.kind), takenAt, nil, nil,
                ShellyParser.rpcMinutes(body, component: component, takenAt: takenAt), HistoryEndpoint(component)
            )
        }
    }

    /// How often the device's health is read.
    static let healthIntervalNanoseconds: Int64 = 60_000_000_000
    /// Detection (`/shelly`) at most this often while a plug keeps failing.
    static let detectionIntervalNanoseconds: Int64 = 60_000_000_000

    private var isHealthDue: Bool {
        MonotonicClock.nowNanoseconds() >= state.withLock { $0.nextHealthAt }
    }

    /// The device's health from `figures` plus its identity, when due; the identity of a plug
    /// whose generation is configured (never detected) is read from `/shelly` once.
    private func healthIfDue(deadline: Int64, _ figures: () -> DeviceHealth) async -> DeviceHealth? {
        let now = MonotonicClock.nowNanoseconds()
        let (due, known) = state.withLock { state -> (Bool, DeviceHealth?) in
            guard now >= state.nextHealthAt else { return (false, nil) }
            state.nextHealthAt = now + Self.healthIntervalNanoseconds
            return (true, state.device)
        }
        guard due else { return nil }
        var identity = known
        if identity == nil,
            let (body, _) = try? await get("/shelly", authenticated: false, generation: .gen1, deadline: deadline),
            let info = try? ShellyParser.deviceInfo(body)
        {
            identity = DeviceHealth(model: info.model, generation: "\(info.generation)", firmware: info.firmware)
            state.withLock { $0.device = identity }
        }
        var health = figures()
        health.model = identity?.model
        health.generation = identity?.generation
        health.firmware = identity?.firmware
        return health
    }

    private static func reading(_ parsed: ParsedReading) throws(PollFailure) -> Reading {
        switch parsed {
        case .reading(let reading): return reading
        case .noReading(let why): throw PollFailure(.invalid, why)
        }
    }

    /// One RPC call, `method` with `params {"id": id}` and the integer parameters `more`: over
    /// the plug's WebSocket when it has one and it works, else one HTTP request. Returns the
    /// parsed answer (a JSON-RPC frame or the bare result) and the time the reading was taken.
    func rpc(
        _ method: String, id: Int?, more: [(String, Int64)] = [], deadline: Int64
    ) async throws(PollFailure) -> (JSONValue, Int64) {
        let parameters = (id.map { [("id", Int64($0))] } ?? []) + more
        if let webSocket, usesWebSocket {
            let fallback: Bool
            do {
                return try await rpcOverWebSocket(webSocket, method, parameters: parameters, deadline: deadline)
            } catch let failure as WebSocketFallback {
                guard plug.transport == .auto else { throw failure.failure }
                let milliseconds = failure.refused ? Self.refusedFallbackMilliseconds : Self.silentFallbackMilliseconds
                state.withLock { $0.httpUntil = MonotonicClock.nowNanoseconds() + milliseconds * 1_000_000 }
                logger.info(
                    "WebSocket unusable, using HTTP for a while",
                    metadata: ["error": "\(failure.failure.message)", "retryInMs": "\(milliseconds)"])
                // A refused upgrade costs nothing: this poll still has its time for HTTP.
                fallback = failure.refused
                if !fallback { throw failure.failure }
            } catch let failure as PollFailure {
                throw failure
            } catch {
                throw PollFailure(.connect, "\(method): \(error)")
            }
        }
        let query = parameters.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let path = "/rpc/\(method)" + (query.isEmpty ? "" : "?" + query)
        let (body, takenAt) = try await get(path, authenticated: true, generation: .rpc(2), deadline: deadline)
        do { return (try ShellyParser.json(body), takenAt) } catch { throw PollFailure(error.reason, error.message) }
    }

    /// A transport failure of the WebSocket: `auto` falls back to HTTP for a while.
    private struct WebSocketFallback: Error {
        var failure: PollFailure
        var refused: Bool
    }

    /// One RPC call over the WebSocket, authenticated inside the frame as the device asks
    /// (a 401 error frame carries the challenge; the `auth` object is built once per nonce).
    private func rpcOverWebSocket(
        _ webSocket: any RPCTransport, _ method: String, parameters: [(String, Int64)], deadline: Int64
    ) async throws -> (JSONValue, Int64) {
        var answeredChallenge = 0
        while true {
            let sentNonce = digest?.nonce
            let auth = digest?.frameAuth()
            let start = WallClock.nowNanoseconds()
            let params = "{" + parameters.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
            let result = await webSocket.call(method: method, params: params, auth: auth, deadline: deadline)
            let frame: JSONValue
            let end: Int64
            switch result {
            case .success(let reply):
                frame = reply.frame
                end = reply.receivedNanoseconds
            case .failure(.upgradeRefused):
                throw WebSocketFallback(
                    failure: PollFailure(.connect, "\(method): the device refused the WebSocket upgrade"), refused: true
                )
            case .failure(.timeout):
                throw WebSocketFallback(
                    failure: PollFailure(.timeout, "\(method): no WebSocket answer in time"), refused: false)
            case .failure(.closed(let why)):
                throw WebSocketFallback(
                    failure: PollFailure(.connect, "\(method): WebSocket closed (\(why))"), refused: false)
            case .failure(.payload(let error)):
                throw PollFailure(error.reason, "\(method): \(error.message)")
            case .failure(.noTimeLeft):
                throw PollFailure(.timeout, "\(method): no time left")
            case .failure(.backingOff(let milliseconds)):
                throw WebSocketFallback(
                    failure: PollFailure(.connect, "\(method): WebSocket reconnects in \(milliseconds) ms"),
                    refused: false)
            }
            guard let error = frame["error"], let code = error["code"]?.integer, code == 401 || code == 429 else {
                return (frame, (start + end) / 2 / 1_000_000)
            }
            if code == 429 {
                state.withLock {
                    $0.throttledUntil = MonotonicClock.nowNanoseconds() + Self.throttleMilliseconds * 1_000_000
                }
                throw PollFailure(.throttled, "\(method): error 429 (device throttles authentication)")
            }
            guard let digest, answeredChallenge < Self.maxChallengesPerPoll else {
                let hint = plug.password == nil ? " (no password configured)" : " (wrong user or password)"
                throw PollFailure(.auth, "\(method): error 401\(hint)")
            }
            guard let message = error["message"]?.string, let challenge = DigestChallenge.parse(frameMessage: message)
            else {
                throw PollFailure(.auth, "\(method): error 401 without a Digest challenge")
            }
            // As over HTTP: the same nonce refused without `stale`, or a fresh challenge
            // answered and refused again without `stale`, means the password is wrong.
            if auth != nil, !challenge.stale, challenge.nonce == sentNonce || answeredChallenge > 0 {
                throw PollFailure(.auth, "\(method): error 401 (wrong user or password)")
            }
            do { try digest.accept(challenge) } catch { throw refusal(error.description) }
            answeredChallenge += 1
        }
    }

    /// Applies `PinRule` to what `/shelly` said: pins the plug on first detection (reporting
    /// the pin), throws a refusal for a device that is not the pinned one.
    private func checkPin(_ info: DeviceInfo) throws(PollFailure) {
        let now = WallClock.nowMilliseconds()
        let decision = state.withLock { state -> PinRule.Decision in
            let decision = PinRule.decide(plug: plug, pin: state.pin, claim: info, nowMilliseconds: now)
            if case .pin(let pin) = decision { state.pin = pin }
            return decision
        }
        switch decision {
        case .proceed:
            return
        case .pin(let pin):
            report(pin)
        case .refuse(let message):
            let first = state.withLock { state -> Bool in
                defer { state.loggedPinRefusal = true }
                return !state.loggedPinRefusal
            }
            if first {
                var metadata: Logger.Metadata = ["reason": "auth", "error": "\(message)"]
                if let meter = plug.meter { metadata["meter"] = "\(meter)" }
                logger.error("plug refused", metadata: metadata)
            }
            throw PollFailure(.auth, message)
        }
    }

    /// Logs a new or updated pin and hands it on to be stored.
    private func report(_ pin: PlugPin) {
        var metadata: Logger.Metadata = [
            "family": "\(pin.family.rawValue)", "auth": "\(pin.authScheme.rawValue)",
            "id": "\(PinRule.quoted(pin.deviceID))", "mac": "\(PinRule.quoted(pin.mac))",
        ]
        if let meter = plug.meter { metadata["meter"] = "\(meter)" }
        logger.info(
            plug.generation == .auto ? "plug pinned" : "plug pinned as configured (generation)", metadata: metadata)
        onPin?(pin)
    }

    /// With `generation:` set and a password, once (again a minute later while `/shelly` cannot
    /// be read): reads the device's identity and brings the pin in line with the configuration,
    /// which wins over any pin. The poll goes on whatever `/shelly` answers: the operator said
    /// what the plug is.
    private func confirmPinIfDue(deadline: Int64) async {
        guard plug.password != nil, plug.generation != .auto else { return }
        let now = MonotonicClock.nowNanoseconds()
        let due = state.withLock { state -> Bool in
            guard !state.pinConfirmed, now >= state.nextConfirmationAt else { return false }
            state.nextConfirmationAt = now + Self.detectionIntervalNanoseconds
            return true
        }
        guard due,
            let (body, _) = try? await get("/shelly", authenticated: false, generation: .gen1, deadline: deadline),
            let info = try? ShellyParser.deviceInfo(body)
        else { return }
        state.withLock {
            $0.pinConfirmed = true
            $0.device = DeviceHealth(model: info.model, generation: "\(info.generation)", firmware: info.firmware)
        }
        try? checkPin(info)
    }

    /// The plug's pin as this session holds it.
    public var pin: PlugPin? { state.withLock { $0.pin } }

    /// Forgets the pin when it still is `pin` (the operator cleared it from the store): the
    /// plug is detected afresh at its next poll and pinned to what answers then. Returns whether
    /// it was forgotten.
    @discardableResult
    public func clearPin(_ pin: PlugPin) -> Bool {
        let auto = plug.generation == .auto
        return state.withLock { state in
            guard state.pin == pin else { return false }
            state.pin = nil
            state.loggedPinRefusal = false
            state.pinConfirmed = false
            state.nextConfirmationAt = 0
            if auto {
                state.endpoint = nil
                state.detected = nil
            }
            return true
        }
    }

    /// An `auth` failure for something the configuration refuses, logged once (until a poll
    /// succeeds) as an error: it needs an operator, not a retry.
    private func refusal(_ message: String) -> PollFailure {
        let first = state.withLock { state -> Bool in
            defer { state.loggedRefusal = message }
            return state.loggedRefusal != message
        }
        if first { logger.error("plug refused", metadata: ["reason": "auth", "error": "\(message)"]) }
        return PollFailure(.auth, message)
    }

    /// GETs `path` before `deadline`; returns the body of a 2xx response and the time the
    /// reading was taken (the midpoint of the last exchange, in unix milliseconds).
    ///
    /// Gen1 sends Basic credentials with the request. Gen2+ sends the request
    /// pre-authenticated with the plug's current Digest nonce and the next `nc`; a `401`
    /// whose challenge is stale, or names a nonce other than the one sent (the device lost
    /// it), is answered once more within the same poll with the new nonce; a `429` leaves the
    /// plug alone for the throttle window without asking for another nonce.
    func get(
        _ path: String, authenticated: Bool, generation: ShellyGeneration, maxBytes: Int = PlugSession.maxBodyBytes,
        deadline: Int64
    ) async throws(PollFailure) -> ([UInt8], Int64) {
        var basic: HTTPAuthentication?
        var digest: DigestAuthenticator?
        if authenticated, let password = plug.password {
            switch generation {
            case .gen1: basic = .basic(username: plug.username, password: password)
            case .rpc: digest = self.digest
            }
        }
        var answeredChallenge = 0
        while true {
            let sentNonce = digest?.nonce
            let authorization = digest?.authorization(method: "GET", uri: path)
            let (response, takenAt) = try await send(
                path, headers: authorization.map { ["Authorization: \($0)"] } ?? [], basic: basic, maxBytes: maxBytes,
                deadline: deadline)
            switch response.status {
            case 200..<300:
                return (response.body, takenAt)
            case 401:
                guard let digest, answeredChallenge < Self.maxChallengesPerPoll else {
                    let hint = plug.password == nil ? " (no password configured)" : " (wrong user or password)"
                    throw PollFailure(.auth, "\(path): HTTP 401\(hint)")
                }
                guard let header = response.header("WWW-Authenticate"), let challenge = DigestChallenge.parse(header)
                else {
                    throw PollFailure(.auth, "\(path): HTTP 401 without a Digest challenge")
                }
                // The same nonce refused without `stale`, or a fresh challenge answered and
                // refused again without `stale`: the password is wrong.
                if authorization != nil, !challenge.stale, challenge.nonce == sentNonce || answeredChallenge > 0 {
                    throw PollFailure(.auth, "\(path): HTTP 401 (wrong user or password)")
                }
                do { try digest.accept(challenge) } catch { throw refusal(error.description) }
                answeredChallenge += 1
            case 429:
                let wait = response.header("Retry-After").flatMap { Int64(rounding: (Double($0) ?? -1) * 1000, .up) }
                let milliseconds = min(
                    max(wait ?? Self.throttleMilliseconds, Self.throttleMilliseconds), Self.maxThrottleMilliseconds)
                state.withLock { $0.throttledUntil = MonotonicClock.nowNanoseconds() + milliseconds * 1_000_000 }
                throw PollFailure(
                    .throttled, "\(path): HTTP 429 (device throttles authentication for \(milliseconds) ms)")
            default:
                throw PollFailure(.http, "\(path): HTTP \(response.status)")
            }
        }
    }

    /// One request before `deadline`; returns the response and the midpoint of the exchange.
    private func send(
        _ path: String, headers: [String], basic: HTTPAuthentication?, maxBytes: Int, deadline: Int64
    ) async throws(PollFailure) -> (HTTPResponse, Int64) {
        let start = WallClock.nowNanoseconds()
        let remaining = Int(clamping: (deadline - MonotonicClock.nowNanoseconds()) / 1_000_000)
        guard remaining > 0 else { throw PollFailure(.timeout, "no time left for \(path)") }
        let request = HTTPRequest(
            url: plug.baseURL + path,
            headers: headers,
            authentication: basic,
            timeoutMilliseconds: remaining,
            maxResponseBytes: maxBytes,
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
        // The exchange ended when the client had the answer: this task may resume much later
        // on a busy machine, and the reading must not be dated by that.
        let end = response.completedNanoseconds ?? WallClock.nowNanoseconds()
        return (response, (start + end) / 2 / 1_000_000)
    }
}
