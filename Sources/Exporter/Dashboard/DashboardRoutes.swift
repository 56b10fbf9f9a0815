import EnergyModel
import EnergyQueries
import Foundation
import Hummingbird
import Logging
import NIOCore
import Store

/// Routes of the built-in dashboard: the page and its script and style at `/`,
/// `/dashboard.js`, `/dashboard.css`, and the JSON API at `/api/v1/power`,
/// `/api/v1/nodes`, `/api/v1/energy`, `/api/v1/pods` (the pods' attributed energy) and
/// `/api/v1/pods/power` (each node's power by pod, per minute); panels that processes running
/// next to the monitor add, such as `/api/v1/workflow`, come as `ExtraRoute`s. Everything the
/// page needs comes from this binary: no CDN, no fonts.
enum DashboardRoutes {
    /// Only this origin may load anything; the page never talks to another host.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static func register(on router: Router<BasicRequestContext>, api: DashboardAPI, logger: Logger) {
        router.get("/") { _, _ -> Response in
            asset(DashboardAssets.html, type: "text/html; charset=utf-8")
        }
        router.get("/dashboard.js") { _, _ -> Response in
            asset(DashboardAssets.bundledScript, type: "text/javascript; charset=utf-8")
        }
        router.get("/dashboard.css") { _, _ -> Response in
            asset(DashboardAssets.style, type: "text/css; charset=utf-8")
        }
        router.get("/api/v1/power") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            // A shard answers for every node of every shard; a forwarded request for its own.
            let shards = isForwarded(request) ? nil : api.router
            let query: PowerQuery
            do throws(QueryError) {
                query = try PowerQuery(
                    node: parameters.get("node"),
                    from: parameters.get("from"),
                    to: parameters.get("to"),
                    step: parameters.get("step"),
                    knownNodes: shards?.nodes ?? api.nodes,
                    nowMilliseconds: WallClock.nowMilliseconds()
                )
            } catch {
                return badRequest(error)
            }
            if let shards { return await routedPower(query, api: api, router: shards, logger: logger) }
            do throws(StoreError) {
                return json(try await api.power(query), logger: logger)
            } catch {
                return storeFailure("cannot read power samples", error, logger: logger)
            }
        }
        router.get("/api/v1/energy") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            let window: QueryWindow
            do throws(QueryError) {
                window = try EnergyQuery.window(
                    from: parameters.get("from"), to: parameters.get("to"),
                    nowMilliseconds: WallClock.nowMilliseconds())
            } catch {
                return badRequest(error)
            }
            var known: [String]
            do throws(StoreError) {
                known = try await api.store.nodes()
            } catch {
                return storeFailure("cannot read the nodes of the store", error, logger: logger)
            }
            if let shards = isForwarded(request) ? nil : api.router {
                // Every configured node, and what this store holds besides; each is asked of
                // its owner, which refuses a node its store does not hold as one monitor would.
                let stored = Set(known)
                known += shards.nodes.filter { !stored.contains($0) }
                let names: [String]?
                do throws(QueryError) {
                    let node = parameters.get("node")
                    names = node.map { $0.isEmpty } ?? true ? nil : try NodeSelection.nodes(node, known: known)
                } catch {
                    return badRequest(error)
                }
                return await routedEnergy(names: names, window: window, api: api, router: shards, logger: logger)
            }
            let query: EnergyQuery
            do throws(QueryError) {
                query = try EnergyQuery(node: parameters.get("node"), window: window, knownNodes: known)
            } catch {
                return badRequest(error)
            }
            let report: EnergyReport
            do throws(StoreError) {
                report = try await api.energy(query)
            } catch {
                return storeFailure("cannot read energy figures", error, logger: logger)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: report.render(.json)))
            )
        }
        router.get("/api/v1/pods") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            let window: QueryWindow
            do throws(QueryError) {
                window = try EnergyQuery.window(
                    from: parameters.get("from"), to: parameters.get("to"),
                    nowMilliseconds: WallClock.nowMilliseconds())
            } catch {
                return badRequest(error)
            }
            let namespace = parameters.get("namespace").flatMap { $0.isEmpty ? nil : $0 }
            let node = parameters.get("node").flatMap { $0.isEmpty ? nil : $0 }
            if let node, !api.nodes.contains(node) {
                return MetricsServer.text(
                    .badRequest, "bad request: node: unknown node \"\(LogText.escaped(String(node.prefix(64))))\"\n")
            }
            if let namespace, namespace.utf8.count > 63 {
                return MetricsServer.text(.badRequest, "bad request: namespace: longer than 63 characters\n")
            }
            do throws(StoreError) {
                let interval = try await EnergyReport.intervalMilliseconds(
                    of: api.store, fallback: api.intervalMilliseconds)
                return json(
                    try await PodEnergyReport.compute(
                        store: api.store, namespace: namespace, node: node, fromMilliseconds: window.fromMilliseconds,
                        toMilliseconds: window.toMilliseconds, intervalMilliseconds: interval, rates: api.rates()),
                    logger: logger)
            } catch {
                return storeFailure("cannot read the pods' energy", error, logger: logger)
            }
        }
        router.get("/api/v1/pods/power") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            let query: EnergyQuery
            do throws(QueryError) {
                let window = try EnergyQuery.window(
                    from: parameters.get("from"), to: parameters.get("to"),
                    nowMilliseconds: WallClock.nowMilliseconds())
                query = try EnergyQuery(node: parameters.get("node"), window: window, knownNodes: api.nodes)
            } catch {
                return badRequest(error)
            }
            do throws(StoreError) {
                return json(
                    try await PodPowerReport.compute(
                        store: api.store, nodes: query.nodes, fromMilliseconds: query.fromMilliseconds,
                        toMilliseconds: query.toMilliseconds),
                    logger: logger)
            } catch {
                return storeFailure("cannot read the pods' power", error, logger: logger)
            }
        }
        router.get("/api/v1/nodes") { _, _ -> Response in
            do throws(StoreError) {
                return json(
                    try await api.status(nowMilliseconds: WallClock.nowMilliseconds()), logger: logger)
            } catch {
                return storeFailure("cannot read the state of the plugs", error, logger: logger)
            }
        }
    }

    /// 400 with the refused parameter and why, in one line.
    static func badRequest(_ error: QueryError) -> Response {
        MetricsServer.text(.badRequest, "bad request: \(error.message(.query))\n")
    }

    /// 500 with what failed and SQLite's reason in words. The store's full message can hold
    /// SQL text and the database's path: it goes to the log, never to the client.
    static func storeFailure(_ what: String, _ error: StoreError, logger: Logger) -> Response {
        logger.error("dashboard API: \(what)", metadata: ["error": "\(error.message)"])
        return MetricsServer.text(.internalServerError, "store: \(what) (\(error.summary))\n")
    }

    static func json<T: Encodable>(_ value: T, logger: Logger) -> Response {
        let data: Data
        do {
            data = try DashboardAPI.encode(value)
        } catch {
            logger.error("dashboard API: cannot encode the answer", metadata: ["error": "\(error)"])
            return MetricsServer.text(.internalServerError, "cannot encode the answer\n")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type,
                .cacheControl: "no-cache",
                .contentSecurityPolicy: contentSecurityPolicy,
                .xContentTypeOptions: "nosniff",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}
