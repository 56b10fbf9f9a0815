import EnergyModel
import Logging
import ServiceLifecycle
import ShellyPoller
import Store
import Synchronization

/// Keeps the plugs' pins (see `PlugPin`) in the store while the service runs: writes every pin
/// a session makes or updates, one at a time and in order, again every few seconds while the
/// store cannot take it; and notices a pin the operator cleared (`energy-monitor pins --clear`)
/// so that the plug's session forgets it too and detects the plug afresh, without a restart.
///
/// A pin counts as stored only once its write has committed. The check for cleared pins takes
/// its list of stored pins before it reads the table, so a pin missing from the table was
/// deleted by someone else, never merely not written yet.
final class PinKeeper: Sendable {
    /// A plug: its node and meter.
    private struct Key: Hashable {
        var node: String
        var meter: String?

        init(_ pin: PlugPin) {
            self.node = pin.node
            self.meter = pin.meter
        }
    }

    private struct State {
        /// The pins known to be in the store, by plug.
        var stored: [Key: PlugPin] = [:]
        /// The newest pin of each plug still to be written.
        var pending: [Key: PlugPin] = [:]
        /// Whether a failed write has been logged since writes last worked.
        var failureLogged = false
    }

    /// How often cleared pins are looked for and failed writes tried again.
    static let checkInterval: Duration = .seconds(5)

    private let store: EnergyStore
    private let logger: Logger
    private let state: Mutex<State>
    private let stream: AsyncStream<PlugPin>
    private let continuation: AsyncStream<PlugPin>.Continuation

    /// Creates a keeper for `store`, which holds `stored` (loaded at start).
    init(store: EnergyStore, stored: [PlugPin], logger: Logger) {
        self.store = store
        self.logger = logger
        var initial = State()
        for pin in stored { initial.stored[Key(pin)] = pin }
        self.state = Mutex(initial)
        (stream, continuation) = AsyncStream.makeStream(of: PlugPin.self)
    }

    /// Takes a pin a session made, to be written (never blocks: a session calls it mid-poll).
    func record(_ pin: PlugPin) {
        state.withLock { $0.pending[Key(pin)] = pin }
        continuation.yield(pin)
    }

    /// Writes pins until `finish()` (then the ones still waiting) or cancellation, and checks
    /// every `checkInterval` for pins cleared in the store, which `loop`'s sessions then forget.
    func run(loop: PollLoop) async {
        let checker = Task {
            while true {
                do { try await Task.sleep(for: Self.checkInterval) } catch { return }
                await self.check(loop)
            }
        }
        for await pin in stream {
            await write(pin)
        }
        checker.cancel()
        await checker.value
    }

    /// Ends `run()` once the pins already recorded are written.
    func finish() {
        continuation.finish()
    }

    /// Writes `pin` unless a newer pin of its plug is waiting (that one comes later).
    private func write(_ pin: PlugPin) async {
        let key = Key(pin)
        guard state.withLock({ $0.pending[key] == pin }) else { return }
        do {
            try await store.savePin(pin)
        } catch {
            let first = state.withLock { state -> Bool in
                defer { state.failureLogged = true }
                return !state.failureLogged
            }
            if first {
                logger.error(
                    "cannot store a plug's pin; trying again every few seconds (a restart before then detects the plug afresh)",
                    metadata: ["node": "\(pin.node)", "error": "\(error.message)"])
            }
            return
        }
        state.withLock { state in
            if state.pending[key] == pin { state.pending[key] = nil }
            state.stored[key] = pin
            if state.pending.isEmpty { state.failureLogged = false }
        }
    }

    /// Queues the writes that failed again, and makes the sessions forget every stored pin that
    /// is no longer in the table.
    private func check(_ loop: PollLoop) async {
        let (stored, pending) = state.withLock { ($0.stored, Array($0.pending.values)) }
        for pin in pending { continuation.yield(pin) }
        guard !stored.isEmpty, let table = try? await store.pins() else { return }
        let present = Set(table.map(Key.init))
        for (key, pin) in stored where !present.contains(key) {
            let forget = state.withLock { state -> Bool in
                guard state.stored[key] == pin else { return false }
                state.stored[key] = nil
                return true
            }
            guard forget, loop.clearPin(pin) else { continue }
            var metadata: Logger.Metadata = ["node": "\(pin.node)"]
            if let meter = pin.meter { metadata["meter"] = "\(meter)" }
            logger.info("pin cleared in the store; the plug is detected afresh", metadata: metadata)
        }
    }
}

/// The pin keeper as a lifecycle service: on graceful shutdown it writes what waits and ends.
struct PinService: Service {
    let keeper: PinKeeper
    let loop: PollLoop

    func run() async throws {
        await withGracefulShutdownHandler {
            await keeper.run(loop: loop)
        } onGracefulShutdown: {
            keeper.finish()
        }
    }
}
