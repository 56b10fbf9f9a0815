import EnergyModel
import EnergyQueries
import Foundation
import Hummingbird
import Logging
import NIOCore
import Store

/// `GET /api/v1/power` and `GET /api/v1/energy` of a shard: the nodes asked for are grouped by
/// owner, each group answered by its owner (this shard from its store, the others over HTTP
/// with ``ShardRouter/forwardedHeader``, all at once), and the answers merged in the order
/// asked: the same JSON one monitor of every node would give.
extension DashboardRoutes {
    /// Why a routed query has no answer.
    enum RoutedFailure: Error {
        /// A peer gave no answer (down, timed out, no URL): 502 naming the shard.
        case unreachable(shard: Int, ShardError)
        /// A peer answered something other than 200: passed on as it is.
        case refused(ShardRouter.PeerAnswer)
        /// A peer's 200 could not be read.
        case unreadable(shard: Int, String)
        /// The local store failed.
        case store(String, StoreError)
        /// The query names a node this shard's store does not know.
        case badRequest(QueryError)
    }

    /// The 502 body: what failed and the shard.
    struct ShardFailureBody: Encodable {
        var error: String
        var shard: Int
    }

    /// Whether another shard forwarded this request (answered from the local store only).
    static func isForwarded(_ request: Request) -> Bool {
        let marker = ShardRouter.forwardedHeader.lowercased()
        return request.headers.contains { $0.name.canonicalName == marker }
    }

    /// The power query answered by the owners of its nodes.
    static func routedPower(_ query: PowerQuery, api: DashboardAPI, router: ShardRouter, logger: Logger) async
        -> Response
    {
        let groups = router.grouped(query.nodes)
        let answers = await withTaskGroup(of: (Int, Result<[DashboardAPI.PowerSeries], RoutedFailure>).self) {
            tasks in
            for (position, group) in groups.enumerated() {
                tasks.addTask {
                    (position, await powerSeries(group.shard, group.nodes, query: query, api: api, router: router))
                }
            }
            var answers: [Int: Result<[DashboardAPI.PowerSeries], RoutedFailure>] = [:]
            for await (position, answer) in tasks { answers[position] = answer }
            return answers
        }
        var byNode: [String: DashboardAPI.PowerSeries] = [:]
        for position in groups.indices {
            switch answers[position] {
            case .success(let series)?: for entry in series { byNode[entry.node] = entry }
            case .failure(let failure)?: return response(failure, logger: logger)
            case nil: return response(.unreadable(shard: groups[position].shard, "no answer"), logger: logger)
            }
        }
        var series: [DashboardAPI.PowerSeries] = []
        for node in query.nodes {
            guard let entry = byNode[node] else {
                return response(.unreadable(shard: router.owner(of: node), "no series for \(node)"), logger: logger)
            }
            series.append(entry)
        }
        return json(
            DashboardAPI.PowerResponse(
                from: query.fromMilliseconds, to: query.toMilliseconds, step: query.stepMilliseconds, series: series),
            logger: logger)
    }

    /// The series of `nodes`, all owned by `shard`.
    private static func powerSeries(
        _ shard: Int, _ nodes: [String], query: PowerQuery, api: DashboardAPI, router: ShardRouter
    ) async -> Result<[DashboardAPI.PowerSeries], RoutedFailure> {
        if shard == router.assignment.index {
            var local = query
            local.nodes = nodes
            do throws(StoreError) {
                return .success(try await api.power(local).series)
            } catch {
                return .failure(.store("cannot read power samples", error))
            }
        }
        let path =
            "/api/v1/power?node=\(nodes.joined(separator: ","))&from=\(ShardRouter.seconds(query.fromMilliseconds))"
            + "&to=\(ShardRouter.seconds(query.toMilliseconds))&step=\(ShardRouter.seconds(query.stepMilliseconds))"
        switch await router.ask(shard, path) {
        case .failure(let error): return .failure(.unreachable(shard: shard, error))
        case .success(let answer):
            guard answer.status == 200 else { return .failure(.refused(answer)) }
            guard let decoded = try? JSONDecoder().decode(DashboardAPI.PowerResponse.self, from: Data(answer.body))
            else {
                return .failure(.unreadable(shard: shard, "not a power answer"))
            }
            return .success(decoded.series)
        }
    }

    /// The energy report of `names` (every node of every shard's store when nil) over
    /// `window`, answered by the owners.
    static func routedEnergy(
        names: [String]?, window: QueryWindow, api: DashboardAPI, router: ShardRouter, logger: Logger
    ) async -> Response {
        let groups: [(shard: Int, nodes: [String]?)] =
            names.map { router.grouped($0).map { ($0.shard, $0.nodes) } }
            ?? (0..<router.assignment.count).map { ($0, nil) }
        let answers = await withTaskGroup(of: (Int, Result<[ArraySlice<UInt8>], RoutedFailure>).self) { tasks in
            for (position, group) in groups.enumerated() {
                tasks.addTask {
                    (position, await energyEntries(group.shard, group.nodes, window: window, api: api, router: router))
                }
            }
            var answers: [Int: Result<[ArraySlice<UInt8>], RoutedFailure>] = [:]
            for await (position, answer) in tasks { answers[position] = answer }
            return answers
        }
        var entries: [[ArraySlice<UInt8>]] = []
        for position in groups.indices {
            switch answers[position] {
            case .success(let list)?: entries.append(list)
            case .failure(let failure)?: return response(failure, logger: logger)
            case nil: return response(.unreadable(shard: groups[position].shard, "no answer"), logger: logger)
            }
        }
        var merged: [ArraySlice<UInt8>] = []
        if let names {
            // Each owner answered its nodes in the order asked: take them back in that order.
            var next = [Int](repeating: 0, count: groups.count)
            for name in names {
                guard let position = groups.firstIndex(where: { $0.shard == router.owner(of: name) }),
                    next[position] < entries[position].count
                else {
                    return response(
                        .unreadable(shard: router.owner(of: name), "fewer entries than nodes asked"), logger: logger)
                }
                merged.append(entries[position][next[position]])
                next[position] += 1
            }
        } else {
            // Every node of every store, by name as one store lists them (byte order).
            var named: [(node: String, entry: ArraySlice<UInt8>)] = []
            for (position, list) in entries.enumerated() {
                for entry in list {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(entry)) as? [String: Any],
                        let node = object["node"] as? String
                    else {
                        return response(
                            .unreadable(shard: groups[position].shard, "an entry without a node"), logger: logger)
                    }
                    named.append((node, entry))
                }
            }
            named.sort { $0.node.utf8.lexicographicallyPrecedes($1.node.utf8) }
            merged = named.map(\.entry)
        }
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (index, entry) in merged.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += entry
        }
        body.append(UInt8(ascii: "]"))
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    /// The report entries of `nodes` (every node of its store when nil), all owned by `shard`.
    private static func energyEntries(
        _ shard: Int, _ nodes: [String]?, window: QueryWindow, api: DashboardAPI, router: ShardRouter
    ) async -> Result<[ArraySlice<UInt8>], RoutedFailure> {
        if shard == router.assignment.index {
            let query: EnergyQuery
            do throws(StoreError) {
                let known = try await api.store.nodes()
                do throws(QueryError) {
                    query = try EnergyQuery(node: nodes?.joined(separator: ","), window: window, knownNodes: known)
                } catch {
                    return .failure(.badRequest(error))
                }
            } catch {
                return .failure(.store("cannot read the nodes of the store", error))
            }
            let report: EnergyReport
            do throws(StoreError) {
                report = try await api.energy(query)
            } catch {
                return .failure(.store("cannot read energy figures", error))
            }
            guard let entries = ShardRouter.elements(ofArray: Array(report.render(.json).utf8)) else {
                return .failure(.unreadable(shard: shard, "not a JSON array"))
            }
            return .success(entries)
        }
        var path = "/api/v1/energy?"
        if let nodes { path += "node=\(nodes.joined(separator: ","))&" }
        path += "from=\(ShardRouter.seconds(window.fromMilliseconds))&to=\(ShardRouter.seconds(window.toMilliseconds))"
        switch await router.ask(shard, path) {
        case .failure(let error): return .failure(.unreachable(shard: shard, error))
        case .success(let answer):
            guard answer.status == 200 else { return .failure(.refused(answer)) }
            guard let entries = ShardRouter.elements(ofArray: answer.body),
                nodes.map({ $0.count == entries.count }) ?? true
            else {
                return .failure(.unreadable(shard: shard, "not an energy answer for the nodes asked"))
            }
            return .success(entries)
        }
    }

    /// The response of a failure: 502 JSON naming the shard for a peer without an answer,
    /// the peer's own answer when it refused, 500 for the local store.
    static func response(_ failure: RoutedFailure, logger: Logger) -> Response {
        switch failure {
        case .unreachable(let shard, let error):
            logger.warning("shard query: no answer", metadata: ["shard": "\(shard)", "error": "\(error)"])
            return shardFailure(.badGateway, ShardFailureBody(error: error.description, shard: shard))
        case .unreadable(let shard, let reason):
            logger.warning("shard query: unreadable answer", metadata: ["shard": "\(shard)", "reason": "\(reason)"])
            return shardFailure(
                .badGateway, ShardFailureBody(error: "shard \(shard) answered unreadably: \(reason)", shard: shard))
        case .refused(let answer):
            return Response(
                status: HTTPResponse.Status(code: answer.status),
                headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
        case .store(let what, let error):
            return storeFailure(what, error, logger: logger)
        case .badRequest(let error):
            return badRequest(error)
        }
    }

    private static func shardFailure(_ status: HTTPResponse.Status, _ body: ShardFailureBody) -> Response {
        let data = (try? DashboardAPI.encode(body)) ?? Data("{\"error\":\"shard failure\"}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
