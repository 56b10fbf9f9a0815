import Foundation
import Synchronization

/// How a simulated plug misbehaves.
public enum SimulatedFault: String, Sendable, CaseIterable {
    /// Nothing listens on the plug's port: connections are refused.
    case unreachable
    /// Answers only after `ShellySimulator.Configuration.slowDelay`, later than any poll timeout.
    case slow
    /// Answers every request with HTTP 500.
    case httpError = "http-error"
    /// Answers 200 with a body that is not JSON.
    case garbage
    /// Reboots every 15 s: the device energy counter and the uptime restart from 0 together.
    case reboot
    /// Status answers carry 8 MiB of padding after the reading (a firmware or proxy gone wrong).
    case hugeBody = "huge-body"
    /// Status answers carry 64 KiB of headers, 16 lines of 4 KiB (a proxy gone wrong).
    case hugeHeaders = "huge-headers"
    /// Status answers stop halfway through the JSON (a connection cut mid-body), with a
    /// `Content-Length` that matches the shortened body.
    case truncated
    /// Status answers report the power as the bare literal `NaN`, which is not JSON.
    case nan
    /// Status answers report the power as `1e999`, beyond any `Double`.
    case infinite
    /// Status answers report 10 MW, far beyond what any plug or meter carries.
    case absurd
    /// Status answers report -250 W: power flowing back, which a node never feeds.
    case negative
    /// Status answers report -0.3 W: meter noise around an idle 0 W.
    case negativeNoise = "negative-noise"
    /// A Gen2+ plug whose Digest challenges ask for MD5 instead of SHA-256.
    case md5Digest = "md5-digest"
    /// A Gen2+ plug that, after serving three readings, claims to be a Gen1 device asking for
    /// Basic auth (someone else answering on its address); it counts Basic credentials received.
    case downgrade
    /// A Gen2+ plug of which, from the first request on, only a Gen1 device asking for Basic auth
    /// answers, with the plug's MAC address (someone else on its address when the service starts);
    /// it counts Basic credentials received.
    case impostor
    /// A Gen2+ plug that refuses the WebSocket upgrade on `/rpc` (a proxy or an old firmware):
    /// clients must fall back to HTTP.
    case noWebSocket = "no-websocket"
    /// A Gen2+ plug whose WebSocket accepts frames but never answers them (a connection gone
    /// silent); HTTP still works.
    case silentWebSocket = "ws-silent"
    /// Every 7th status reports the energy counter as `1e308` (Gen2+ `aenergy.total` in Wh,
    /// Gen1 `total` in watt-minutes): a number no meter reaches.
    case counterOverflow = "counter-overflow"
    /// Every 7th status reports the energy counter 10^9 Wh above the true one: a finite jump
    /// no meter makes in a second. The next status is honest again.
    case counterJump = "counter-jump"
    /// Every 7th status reports the energy counter as 0 while the device stays up (its
    /// uptime goes on): a fall without a reboot.
    case counterDrop = "counter-drop"
    /// After a pause of 5 s or more without status requests (the poller's gap), the counter
    /// counts again from 0 while the device stays up (a counter reset by hand in the pause).
    case gapCounterDrop = "gap-counter-drop"
    /// After a pause of 5 s or more without status requests, the counter stands 10^6 Wh
    /// higher from then on: a jump no meter makes.
    case gapCounterJump = "gap-counter-jump"
    /// A Gen2+ plug whose `/shelly` model (and firmware) carries a line break and a whole fake
    /// log line after it, and an escape sequence: outside text that must stay inside one line
    /// of the monitor's log.
    case forgedLog = "forged-log"

    /// The power literal a status answer carries instead of the load curve's, if any.
    var wattsLiteral: String? {
        switch self {
        case .nan: "NaN"
        case .infinite: "1e999"
        case .absurd: "10000000.0"
        case .negative: "-250.0"
        case .negativeNoise: "-0.3"
        default: nil
        }
    }
}

/// One simulated plug: the node it powers, its API generation, load curve, credentials and
/// fault. `@unchecked Sendable` is not needed: the mutable counter state sits in a `Mutex`.
public final class SimulatedPlug: Sendable {
    /// Plug description.
    public struct Specification: Sendable, Equatable {
        /// Node name, e.g. `sim-0` or `tvpc`.
        public var node: String
        /// TCP port on the simulator's host.
        public var port: Int
        /// 1 for the Gen1 HTTP API, 2, 3 or 4 for the RPC API.
        public var generation: Int
        /// The power curve.
        public var profile: LoadProfile
        /// When set, Gen1 asks for HTTP Basic (user `admin`) and Gen2+ for Digest SHA-256.
        public var password: String?
        /// A fault, if any.
        public var fault: SimulatedFault?
        /// What device it is: a plug, or an energy meter.
        public var model: SimulatedModel

        /// Creates a specification.
        public init(
            node: String, port: Int, generation: Int, profile: LoadProfile, password: String? = nil,
            fault: SimulatedFault? = nil, model: SimulatedModel = .plug
        ) {
            self.node = node
            self.port = port
            self.generation = generation
            self.profile = profile
            self.password = password
            self.fault = fault
            self.model = model
        }
    }

    /// What the plug reported to a client.
    public struct ServedReading: Sendable, Equatable {
        /// Node name.
        public var node: String
        /// Unix milliseconds at which the reading was served.
        public var timestampMilliseconds: Int64
        /// The reported power, as rounded in the response.
        public var watts: Double
    }

    struct CounterState {
        /// When the plug was created: its first boot.
        var createdAt: Double
        /// The counter at the first boot, watt-hours (a plug in service for a while).
        var initialWattHours: Double
        /// Added to the counter by the gap faults, watt-hours.
        var offsetWattHours = 0.0
        /// When the last status was answered (the gap faults' pause).
        var lastStatus: Double?
        var servedReadings = 0
        var statusAnswers = 0
        var requests = 0
        var basicCredentialsReceived = 0
    }

    /// What one plug saw and answered, for tests and benchmarks.
    public struct Statistics: Sendable, Equatable {
        /// HTTP requests received.
        public var requests = 0
        /// Authenticated requests served.
        public var allowed = 0
        /// `401` answers with a (new) challenge.
        public var challenged = 0
        /// Of those, `stale=true`.
        public var stale = 0
        /// `429` answers.
        public var throttled = 0
        /// Basic credentials received while claiming to be Gen1 (the `downgrade` and `impostor` faults).
        public var basicCredentialsReceived = 0

        /// Creates empty statistics.
        public init() {}

        /// The sum of two plugs' figures.
        public static func + (a: Statistics, b: Statistics) -> Statistics {
            var sum = a
            sum.requests += b.requests
            sum.allowed += b.allowed
            sum.challenged += b.challenged
            sum.stale += b.stale
            sum.throttled += b.throttled
            sum.basicCredentialsReceived += b.basicCredentialsReceived
            return sum
        }
    }

    /// The specification.
    public let specification: Specification
    /// MAC-like hex id derived from the node name.
    public let mac: String
    let counter: Mutex<CounterState>
    private let steps = Mutex<[LoadStep]>([])
    /// The Digest side of a Gen2+ plug with a password.
    let digest: DigestServer?

    /// Creates a plug that booted at `now`, authenticating as `firmware` does (1 or 2) with
    /// nonces living `nonceLifetime` seconds.
    public init(_ specification: Specification, now: Double = Date().timeIntervalSince1970, firmware: Int = 2, nonceLifetime: Double = 3600) {
        self.specification = specification
        var hash: UInt64 = 1_469_598_103_934_665_603
        for byte in specification.node.utf8 {
            hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211
        }
        self.mac = String(format: "%012llX", hash & 0xFFFF_FFFF_FFFF)
        // Start the counter with a plausible history, as a plug in service for a while.
        self.counter = Mutex(CounterState(createdAt: now, initialWattHours: Double(hash % 50_000) / 10))
        if let password = specification.password, specification.generation >= 2 {
            let realm = Self.deviceID(generation: specification.generation, mac: mac, model: specification.model)
            self.digest = DigestServer(
                realm: realm, password: password, firmware: firmware == 1 ? .v1 : .v2, nonceLifetime: nonceLifetime,
                algorithm: specification.fault == .md5Digest ? "MD5" : "SHA-256")
        } else {
            self.digest = nil
        }
    }

    /// What the plug saw and answered so far.
    public var statistics: Statistics {
        var result = Statistics()
        counter.withLock {
            result.requests = $0.requests
            result.basicCredentialsReceived = $0.basicCredentialsReceived
        }
        if let digest = digest?.statistics {
            result.allowed = digest.allowed
            result.challenged = digest.challenged
            result.stale = digest.stale
            result.throttled = digest.throttled
        }
        return result
    }

    /// Counts a request; returns whether the plug now claims to be Gen1 (`downgrade`, `impostor`).
    func countRequest(basicCredentials: Bool) -> Bool {
        counter.withLock { state -> Bool in
            state.requests += 1
            let claimsGen1 =
                specification.fault == .impostor || (specification.fault == .downgrade && state.servedReadings >= 3)
            if claimsGen1, basicCredentials { state.basicCredentialsReceived += 1 }
            return claimsGen1
        }
    }

    /// Counts a served reading.
    func countServedReading() {
        counter.withLock { $0.servedReadings += 1 }
    }

    /// The Gen2+ device id, also the Digest realm.
    public var deviceID: String {
        Self.deviceID(generation: specification.generation, mac: mac, model: specification.model)
    }

    static func deviceID(generation: Int, mac: String, model: SimulatedModel = .plug) -> String {
        if model == .threePhaseMeter { return generation == 1 ? "shellyem3-\(mac)" : "shellypro3em-\(mac.lowercased())" }
        switch generation {
        case 1: return "shellyplug-s-\(mac)"
        case 3: return "shellyplugsg3-\(mac.lowercased())"
        case 4: return "shellypowerstripg4-\(mac.lowercased())"
        default: return "shellyplusplugs-\(mac.lowercased())"
        }
    }

    /// Extra power set while the plug runs (a workload started on the node): `watts` more
    /// than the load curve from `from` to `to` (unix seconds). Steps add up where they overlap.
    public struct LoadStep: Sendable, Equatable {
        /// Watts above the curve (negative for less).
        public var watts: Double
        /// Start, unix seconds.
        public var from: Double
        /// End, unix seconds.
        public var to: Double

        /// Creates a step.
        public init(watts: Double, from: Double, to: Double) {
            self.watts = watts
            self.from = from
            self.to = to
        }
    }

    /// Adds a load step; only finite steps with `to > from` are kept.
    public func addLoad(_ step: LoadStep) {
        guard step.watts.isFinite, step.from.isFinite, step.to.isFinite, step.to > step.from else { return }
        steps.withLock { $0.append(step) }
    }

    /// Ends every step that is still on at `time` (a workload stopped early).
    public func endLoad(at time: Double) {
        steps.withLock { steps in
            for index in steps.indices where steps[index].to > time {
                steps[index].to = max(steps[index].from, time)
            }
        }
    }

    /// Power at unix time `t`: the load curve plus the steps on at `t` (never below 0).
    public func watts(at t: Double) -> Double {
        let extra = steps.withLock { steps in
            steps.reduce(0) { $0 + ($1.from <= t && t < $1.to ? $1.watts : 0) }
        }
        return max(0, specification.profile.watts(at: t) + extra)
    }

    /// The exact energy the plug drew between `from` and `to` (unix seconds), steps included,
    /// in joules: the ground truth that measured figures are checked against.
    public func joules(from: Double, to: Double) -> Double {
        guard to > from else { return 0 }
        let steps = self.steps.withLock { $0 }
        // The curve is smooth between step edges: integrate each piece on its own.
        var edges = [from, to]
        for step in steps {
            for edge in [step.from, step.to] where edge > from && edge < to { edges.append(edge) }
        }
        edges.sort()
        var total = 0.0
        for (start, end) in zip(edges, edges.dropFirst()) where end > start {
            let middle = (start + end) / 2
            let extra = steps.reduce(0) { $0 + ($1.from <= middle && middle < $1.to ? $1.watts : 0) }
            total += specification.profile.exactJoules(from: start, to: end) + extra * (end - start)
        }
        return total
    }

    /// The energy counter as the next status answer writes it (`gen1`: whole watt-minutes,
    /// else watt-hours to three decimals), with the counter faults applied to every 7th answer.
    func counterText(_ wattHours: Double, gen1: Bool) -> String {
        let glitch = counter.withLock { state -> Bool in
            state.statusAnswers += 1
            return state.statusAnswers % 7 == 3
        }
        let honest = gen1 ? String(Int(clampingRounding: wattHours * 60, .towardZero)) : "\(Self.round(wattHours, 3))"
        guard glitch else { return honest }
        switch specification.fault {
        case .counterOverflow: return "1e308"
        case .counterJump:
            let lie = wattHours + 1e9
            return gen1 ? String(Int(clampingRounding: lie * 60, .towardZero)) : "\(Self.round(lie, 3))"
        case .counterDrop: return "0"
        default: return honest
        }
    }
}
