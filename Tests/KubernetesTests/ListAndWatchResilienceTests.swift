import ClusterSimulator
import Foundation
import JSON
import Kubernetes
import Synchronization
import TestSupport
import Testing

/// Lists in pages and watches that behave like client-go's reflector: no size cap beyond a
/// page, a list that starts over when its continuation expired, TCP keepalive on watches,
/// a reconnect when a watch goes silent, and backoff for repeated `410`s and watches that end
/// at once.
@Suite("Paged lists and resilient watches", .serialized)
struct ListAndWatchResilienceTests {
    static let manual = ScriptedLifecycle(
        placement: { _ in .node("node-0") }, run: { _, _ in PodRun(startDelay: .zero, duration: nil) })

    /// Nodes whose list is larger than the 4 MiB a single response may be.
    static func bulkyNodes(_ count: Int) -> [SimulatedNode] {
        let filler = String(repeating: "x", count: 4096)
        return (0..<count).map { SimulatedNode(name: "node-\($0)", annotations: ["example.com/filler": filler]) }
    }

    @Test("a list larger than one response arrives in pages of limit/continue; an expired continuation starts over")
    func pagedList() async throws {
        try await withCluster(nodes: Self.bulkyNodes(1200), lifecycle: Self.manual) { cluster in
            let list = try await cluster.client.list(path: "/api/v1/nodes", pageSize: 500)
            #expect(list.items.count == 1200)
            #expect(Set(list.items.compactMap { $0["metadata"]?["name"]?.string }).count == 1200)
            let requests = await cluster.simulator.requests().filter { $0.verb == "list" }
            #expect(requests.map { $0.query["limit"] } == ["500", "500", "500"])
            #expect(requests.map { $0.query["continue"] != nil } == [false, true, true])

            // The server expires the continuation of the second page: the list starts over.
            await cluster.simulator.fail(
                next: 1, matching: RequestMatch(verb: "list", resource: "nodes", queryKey: "continue"), status: 410)
            var starts = 0
            var seen = 0
            _ = try await cluster.client.list(path: "/api/v1/nodes", pageSize: 500) { page in
                if page.startsOver {
                    starts += 1
                    seen = 0
                }
                seen += page.items.count
            }
            #expect(starts == 2)
            #expect(seen == 1200)
        }
    }

    @Test("a watch connection has TCP keepalive (ss shows its timer)", .enabled(if: Tools.find("ss") != nil))
    func keepalive() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            let watching = Task {
                for try await _ in cluster.client.watch(
                    path: "/api/v1/namespaces/ml/pods", resourceVersion: nil, timeoutSeconds: 60)
                {}
            }
            defer { watching.cancel() }
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() == 1 })
            let port = try #require(cluster.simulator.port)
            let sockets = try await runProcess("ss", ["-tnoH", "state", "established", "( dport = :\(port) )"])
            #expect(sockets.stdout.contains("keepalive"), "\(sockets.stdout)")
        }
    }

    @Test("a watch that goes silent (no event, no bookmark) is resumed after idleSeconds and misses nothing")
    func silentWatch() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            let client = cluster.client
            let path = "/api/v1/namespaces/ml/pods"
            let retries = Mutex<[String]>([])
            let watch = ResumableWatch(
                client: client, watchPath: path,
                retry: RetryPolicy(backoffBaseMilliseconds: 50, backoffMaxMilliseconds: 400), idleSeconds: 2,
                onRetry: { error, _ in retries.withLock { $0.append("\(error)") } }
            ) { () throws(KubernetesRequestError) in
                let list = try await client.list(path: path)
                return (list.items, list.resourceVersion)
            }
            let names = Mutex<[String]>([])
            let following = Task {
                for try await update in watch.updates() {
                    if case .event(let event) = update, let name = event.object["metadata"]?["name"]?.string {
                        names.withLock { $0.append(name) }
                    }
                }
            }
            defer { following.cancel() }
            #expect(await eventually(within: .seconds(15)) { await cluster.simulator.openWatches() == 1 })
            await cluster.simulator.stallWatches()
            _ = try await client.post(
                path: "/apis/batch/v1/namespaces/ml/jobs", body: KubernetesWatchTests.job("quiet"))
            #expect(
                await eventually(within: .seconds(20)) { names.withLock { !$0.isEmpty } }, "\(retries.withLock { $0 })")
            #expect(retries.withLock { $0 }.contains { $0.contains("timed out") })
            let watches = await cluster.simulator.requests().filter { $0.verb == "watch" }
            #expect(watches.count >= 2)
            #expect(watches.last?.query["resourceVersion"] != nil, "resumed, not listed again")
        }
    }

    @Test("repeated 410s and watches that end at once back off exponentially instead of spinning")
    func backoff() async throws {
        try await withCluster(lifecycle: Self.manual) { cluster in
            let client = cluster.client
            let path = "/api/v1/namespaces/ml/pods"
            let delays = Mutex<[Int64]>([])
            await cluster.simulator.fail(
                next: 1000, matching: RequestMatch(verb: "watch", resource: "pods"), status: 410)
            let watch = ResumableWatch(
                client: client, watchPath: path,
                retry: RetryPolicy(backoffBaseMilliseconds: 100, backoffMaxMilliseconds: 1600),
                onRetry: { _, delay in delays.withLock { $0.append(delay) } }
            ) { () throws(KubernetesRequestError) in
                let list = try await client.list(path: path)
                return (list.items, list.resourceVersion)
            }
            let following = Task { for try await _ in watch.updates() {} }
            // Four rounds, however long a loaded machine takes for them (events, not time).
            let rounds = await eventually(within: .seconds(60)) { delays.withLock { $0.count } >= 4 }
            following.cancel()
            _ = await following.result
            #expect(rounds, "\(delays.withLock { $0 })")
            let watches = await cluster.simulator.requests().filter { $0.verb == "watch" }.count
            let waited = delays.withLock { $0 }
            // Every watch after the first waited for its backoff (100, 200, 400, 800 ms steps,
            // half of each fixed, half random): no watch follows a 410 at once.
            #expect(watches >= 2 && watches <= waited.count + 1, "\(watches) watches after \(waited.count) waits")
            #expect(zip(waited, waited.dropFirst()).allSatisfy { $0.0 <= $0.1 * 2 && $0.1 >= 50 }, "\(waited)")
            #expect(waited.count >= 4 && waited[3] >= 400, "\(waited)")

            // Watches the server ends at once, without an event: the same backoff.
            await cluster.simulator.fail(
                next: 1000, matching: RequestMatch(verb: "watch", resource: "nodes"), status: 200)
            let shortDelays = Mutex<[Int64]>([])
            let nodes = ResumableWatch(
                client: client, watchPath: "/api/v1/nodes",
                retry: RetryPolicy(backoffBaseMilliseconds: 100, backoffMaxMilliseconds: 1600),
                onRetry: { error, delay in
                    if "\(error)".contains("very short watch") { shortDelays.withLock { $0.append(delay) } }
                }
            ) { () throws(KubernetesRequestError) in
                let list = try await client.list(path: "/api/v1/nodes")
                return (list.items, list.resourceVersion)
            }
            let shortStart = ContinuousClock.now
            let short = Task { for try await _ in nodes.updates() {} }
            let shortRounds = await eventually(within: .seconds(60)) { shortDelays.withLock { $0.count } >= 3 }
            short.cancel()
            _ = await short.result
            let shortElapsed = ContinuousClock.now - shortStart
            #expect(shortRounds, "\(shortDelays.withLock { $0 })")
            let nodeWatches = await cluster.simulator.requests().filter { $0.verb == "watch" && $0.resource == "nodes" }
                .count
            let shortWaited = shortDelays.withLock { $0 }
            // A watch that ends within a second without an event waits before the next one. On
            // a loaded machine an empty watch can take longer than that round trip and is then
            // resumed at once, as client-go does; each such watch used up a second, so the
            // watches are bounded by the waits plus the seconds elapsed, where spinning would
            // make hundreds a second.
            let elapsedSeconds = Int(shortElapsed.components.seconds)
            #expect(
                nodeWatches >= 2 && nodeWatches <= shortWaited.count + 1 + elapsedSeconds,
                "\(nodeWatches) node watches after \(shortWaited.count) waits in \(shortElapsed)")
            #expect(shortWaited.count >= 3 && shortWaited[2] >= 200, "\(shortWaited)")
        }
    }
}
