import Logging
import Synchronization

/// The warning about scheduler calls refused for their size, at most once a minute.
///
/// With `nodeCacheCapable: false` the scheduler sends every candidate Node object (6 to
/// 20 KiB each), so a cluster of a few hundred nodes outgrows `--max-body-bytes`; the extender
/// answers `413`, and because it is `ignorable` the scheduler places the pod without energy
/// scoring, silently. Every such call is counted
/// (`energy_monitor_extender_oversized_requests_total`); the log gets one line a minute with
/// the size, the node count and the fix, and how many more calls there were since.
final class OversizedCallLog: Sendable {
    private struct State {
        var lastLine: ContinuousClock.Instant?
        var since = 0
    }

    private let interval: Duration
    private let state = Mutex(State())

    init(interval: Duration = .seconds(60)) {
        self.interval = interval
    }

    /// Reports one refused call of `bytes` (nil: unknown) carrying `nodes` Node objects.
    func record(
        _ endpoint: ExtenderMetrics.Endpoint, bytes: Int?, nodes: Int, limit: Int, logger: Logger,
        now: ContinuousClock.Instant = .now
    ) {
        let more: Int? = state.withLock { state in
            if let last = state.lastLine, now - last < interval {
                state.since += 1
                return nil
            }
            defer {
                state.lastLine = now
                state.since = 0
            }
            return state.since
        }
        guard let more else { return }
        logger.warning(
            "\(Self.line(endpoint, bytes: bytes, nodes: nodes, limit: limit, more: more))",
            metadata: ["endpoint": "\(endpoint.rawValue)", "nodes": "\(nodes)", "limit": "\(limit)"])
    }

    /// The line of one report.
    static func line(_ endpoint: ExtenderMetrics.Endpoint, bytes: Int?, nodes: Int, limit: Int, more: Int) -> String {
        let size = bytes.map { "of \($0) bytes " } ?? ""
        let objects = nodes > 0 ? "with \(nodes) Node objects " : ""
        return "\(endpoint.rawValue) call \(size)\(objects)refused: larger than --max-body-bytes \(limit); the scheduler "
            + "places such pods without energy scoring (ignorable: true). Fix: nodeCacheCapable: true in the scheduler's "
            + "extender configuration, with the extender's --watch-nodes (node names only, a few bytes each), or a "
            + "larger --max-body-bytes with 16 MiB more memory limit per MiB"
            + (more > 0 ? "; \(more) more such calls since the last report" : "")
    }
}

/// Counts the Node objects in a body as it streams past, without keeping it: each has one
/// `status.nodeInfo.kubeletVersion`, which pods do not have.
struct NodeObjectCounter {
    private static let needle = Array("\"kubeletVersion\"".utf8)
    private var carry: [UInt8] = []
    private(set) var count = 0
    private(set) var bytes = 0

    mutating func feed(_ chunk: some Collection<UInt8>) {
        bytes += chunk.count
        let window = carry + chunk
        let needle = Self.needle
        var index = 0
        while index + needle.count <= window.count {
            if window[index] == needle[0], window[index..<(index + needle.count)].elementsEqual(needle) {
                count += 1
                index += needle.count
            } else {
                index += 1
            }
        }
        // Keep what could be the start of a match that the next chunk completes.
        carry = Array(window[min(index, window.count)...])
    }
}
