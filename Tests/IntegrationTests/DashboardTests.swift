import EnergyModel
import Foundation
import Store
import TestSupport
import Testing

/// The built-in dashboard against a running demo: its JSON API, and the page itself rendered
/// by headless Chromium (the screenshot is kept in the test artifacts folder).
@Suite("Dashboard", .serialized)
struct DashboardTests {
    static let nodes = ["tvpc", "wyse", "rpi"]

    struct PowerResponse: Decodable {
        struct Series: Decodable {
            var node: String
            var points: [[Double]]
            var lastSample: Int64?
        }
        var from: Int64
        var to: Int64
        var step: Int64
        var series: [Series]
    }

    struct NodesResponse: Decodable {
        struct Node: Decodable {
            var node: String
            var up: Bool
            var watts: Double?
            var lastSample: Int64?
            var energyTodayJoules: Double
        }
        var now: Int64
        var nodes: [Node]
    }

    /// The footprint members of `/api/v1/nodes`.
    struct Footprints: Decodable {
        struct Node: Decodable {
            var node: String
            var energyTodayJoules: Double
            var emissionsTodayGrams: Double?
            var costToday: Double?
            var currency: String?
        }
        var nodes: [Node]
    }

    /// A demo on a free loopback port, ready and with a few seconds of samples.
    /// Starts a demo that runs until the test stops it (an hour at most), however long a
    /// loaded machine takes for the test's requests.
    /// With `config`, a configuration file of that text (its `carbon:` and `price:`) is given.
    static func startDemo(seconds: Int = 3600, config: String? = nil) async throws -> (
        demo: ChildProcess, base: String, folder: String
    ) {
        let folder = try TestEnvironment.makeFolder("dashboard")
        let port = TestEnvironment.freePorts(1)
        var extra: [String] = []
        if let config {
            try config.write(toFile: folder + "/monitor.yaml", atomically: true, encoding: .utf8)
            extra = ["--config", folder + "/monitor.yaml"]
        }
        let demo = try ChildProcess(
            TestPaths.binary,
            ["demo", "--listen", "127.0.0.1:\(port)", "--database", folder + "/energy.db", "--duration", "\(seconds)"]
                + extra,
            in: folder, name: "demo"
        )
        let base = "http://127.0.0.1:\(port)"
        let ready = await eventually(within: .seconds(30)) {
            await TestEnvironment.get("\(base)/readyz")?.status == 200
        }
        try #require(ready, "demo not ready: \(demo.stderr)")
        return (demo, base, folder)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ url: String) async throws -> T {
        let response = try #require(await TestEnvironment.get(url), "no answer from \(url)")
        try #require(
            response.status == 200, "\(url): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
        return try JSONDecoder().decode(type, from: Data(response.body))
    }

    @Test("the page, its script and the JSON API answer; bad queries get 400 with one line")
    func api() async throws {
        let (demo, base, folder) = try await Self.startDemo()
        defer {
            demo.end()
            try? FileManager.default.removeItem(atPath: folder)
        }
        // Three 1-second steps with a sample for every node.
        var power: PowerResponse?
        let filled = await eventually(within: .seconds(20)) {
            power = try? await Self.decode(PowerResponse.self, "\(base)/api/v1/power?from=now-1m&step=1s")
            return power.map { $0.series.allSatisfy { $0.points.count >= 3 } } ?? false
        }
        #expect(filled, "series: \(power.map { $0.series.map { "\($0.node) \($0.points.count)" } } ?? [])")
        let series = try #require(power).series
        #expect(series.map(\.node) == Self.nodes)
        for item in series {
            let times = item.points.map { $0[0] }
            #expect(times == times.sorted(), "\(item.node): points out of order")
            #expect(item.points.allSatisfy { $0.count == 2 && $0[1] > 0 }, "\(item.node): \(item.points)")
        }
        // The demo's load profiles: tvpc (48 W idle) draws far more than wyse and rpi.
        let last = Dictionary(uniqueKeysWithValues: series.map { ($0.node, $0.points.last?[1] ?? 0) })
        #expect(last["tvpc", default: 0] > 40)
        #expect(last["tvpc", default: 0] > 2 * max(last["wyse", default: 0], last["rpi", default: 0]))

        let one = try await Self.decode(PowerResponse.self, "\(base)/api/v1/power?node=rpi&from=now-30s&to=now&step=10")
        #expect(one.series.map(\.node) == ["rpi"])
        #expect(one.step == 10_000)
        #expect(one.series[0].points.count <= 4)

        let status = try await Self.decode(NodesResponse.self, "\(base)/api/v1/nodes")
        #expect(status.nodes.map(\.node) == Self.nodes)
        for node in status.nodes {
            #expect(node.up, "\(node.node) down")
            #expect((node.watts ?? 0) > 0, "\(node.node) watts")
            #expect(node.energyTodayJoules > 0, "\(node.node) energy today")
            #expect(status.now - (node.lastSample ?? 0) < 5_000, "\(node.node) last sample")
        }

        for (query, message) in [
            ("node=nope", "node: unknown node \"nope\""),
            ("from=yesterday-ish", "from: not a time"),
            ("from=now&to=now-1h", "to: must be after from"),
            ("step=1ms", "step: 1ms is below the smallest step"),
            ("step=banana", "step: not a duration"),
            ("from=now-30d&step=1s", "points per series"),
            ("from=now-40d", "longer than 31 days"),
        ] {
            let response = try #require(await TestEnvironment.get("\(base)/api/v1/power?\(query)"))
            let body = String(decoding: response.body, as: UTF8.self)
            #expect(response.status == 400, "\(query): \(response.status)")
            #expect(body.contains(message), "\(query): \(body)")
            #expect(body.split(separator: "\n").count == 1, "\(query): \(body)")
        }

        // `GET /api/v1/energy` and the `energy` command read their parameters one way: the
        // same mistake gets the same line, each naming the parameters as it does.
        let database = folder + "/energy.db"
        for (query, arguments, http, command) in [
            (
                "node=nope", ["--node", "nope"], #"node: unknown node "nope" (known: rpi, tvpc, wyse)"#,
                #"--node: unknown node "nope" (known: rpi, tvpc, wyse)"#
            ),
            (
                "node=rpi,,tvpc", ["--node", "rpi,,tvpc"], #"node: empty name in "rpi,,tvpc""#,
                #"--node: empty name in "rpi,,tvpc""#
            ),
            (
                "from=soon", ["--from", "soon"],
                #"from: not a time: "soon" (use RFC 3339 like 2026-01-21T21:25:01Z, unix seconds, or now-1h)"#,
                #"--from: not a time: "soon" (use RFC 3339 like 2026-01-21T21:25:01Z, unix seconds, or now-1h)"#
            ),
            (
                "from=now&to=now-1h", ["--from", "now", "--to", "now-1h"], "to: must be after from",
                "--to: must be after --from"
            ),
        ] {
            let response = try #require(await TestEnvironment.get("\(base)/api/v1/energy?\(query)"))
            #expect(response.status == 400, "\(query): \(response.status)")
            #expect(String(decoding: response.body, as: UTF8.self) == "bad request: \(http)\n", "\(query)")
            let result = try await runBinary(["energy", "--database", database] + arguments, timeout: .seconds(30))
            #expect(result.status == 64, "\(arguments): exit \(result.status)")
            #expect(result.stderr == "energy-monitor: error: \(command)\n", "\(arguments)")
        }

        // The container's HEALTHCHECK command.
        let healthy = try await runProcess(
            TestPaths.binary, ["healthcheck", "--url", "\(base)/healthz"], timeout: .seconds(10))
        #expect(healthy.status == 0, "\(healthy.stderr)")
        let missing = try await runProcess(
            TestPaths.binary, ["healthcheck", "--url", "\(base)/nope"], timeout: .seconds(10))
        #expect(missing.status != 0 && missing.stderr.contains("HTTP 404"), "\(missing.stderr)")
        let dead = try await runProcess(
            TestPaths.binary,
            ["healthcheck", "--url", "http://127.0.0.1:\(TestEnvironment.freePorts(1))/healthz", "--timeout", "2"],
            timeout: .seconds(10)
        )
        #expect(dead.status != 0 && dead.stderr.split(separator: "\n").count == 1, "\(dead.stderr)")

        let page = try #require(await TestEnvironment.get("\(base)/"))
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(page.status == 200)
        #expect(html.contains("<svg id=\"chart\""))
        // Nothing from elsewhere: every script and style sheet comes from this binary.
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "\(html)")
        for asset in ["dashboard.js", "dashboard.css"] {
            let response = try #require(await TestEnvironment.get("\(base)/\(asset)"))
            #expect(response.status == 200, "\(asset)")
            #expect(response.body.count > 1000, "\(asset)")
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(!text.contains("https://"), "\(asset) loads from elsewhere")
        }
    }

    @Test("headless Chromium draws one series per node with recent points; screenshot kept")
    func chromiumRendersSeries() async throws {
        let chromium = try #require(
            Tools.find("chromium", "chromium-browser", "google-chrome"),
            "chromium not found: run bash scripts/setup.sh"
        )
        let (demo, base, folder) = try await Self.startDemo(
            config: "carbon: {gramsPerKWh: 380}\nprice: {perKWh: 0.30, currency: EUR}\n")
        defer {
            demo.end()
            try? FileManager.default.removeItem(atPath: folder)
        }
        // About 20 s of samples: several 5 s steps per series.
        let filled = await eventually(within: .seconds(40)) {
            let power = try? await Self.decode(PowerResponse.self, "\(base)/api/v1/power?from=now-15m&step=5s")
            return power.map { $0.series.allSatisfy { $0.points.count >= 4 } } ?? false
        }
        try #require(filled, "demo produced too few samples: \(demo.stderr)")

        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", "--window-size=1280,900", "--virtual-time-budget=6000",
        ]
        let profile = folder + "/chromium-profile"
        let started = Int64(Date().timeIntervalSince1970 * 1000)
        let dump = try await runProcess(
            chromium, common + ["--user-data-dir=\(profile)-dom", "--dump-dom", "\(base)/"], timeout: .seconds(90)
        )
        #expect(dump.status == 0, "chromium: \(dump.stderr.suffix(2000))")
        let paths = Self.seriesPaths(in: dump.stdout)
        #expect(paths.map(\.node).sorted() == Self.nodes.sorted(), "paths: \(paths) DOM: \(dump.stdout.prefix(3000))")
        for path in paths {
            #expect(path.points >= 4, "\(path.node): \(path.points) points")
            #expect(
                started - path.lastTimestamp < 30_000,
                "\(path.node): newest point \(started - path.lastTimestamp) ms old")
            #expect(path.d.hasPrefix("M") && path.d.contains("L"), "\(path.node): d=\(path.d.prefix(80))")
        }
        // The cards: one per node, each with its plug up.
        for node in Self.nodes {
            #expect(dump.stdout.contains("<article class=\"card\" data-node=\"\(node)\""), "card of \(node)")
        }
        #expect(dump.stdout.components(separatedBy: "plug up").count - 1 == 3, "plug status")
        // Model and firmware of each simulated plug (Gen2 Plus Plug S, Gen3 Plug S, Gen1 Plug S).
        for model in ["SNPL-00112EU", "S3PL-00112EU", "SHPLG-S"] {
            #expect(dump.stdout.contains(model), "model \(model) on its card")
        }
        #expect(
            dump.stdout.contains("fw 1.1.0-g34b5d4f") && dump.stdout.contains("fw v1.14.0-gcb84623"),
            "firmware on the cards")
        #expect(!dump.stdout.contains("Cannot load data"))
        // Today's emissions and cost on every card: 380 g/kWh and 0.30 EUR/kWh of the node's energy.
        let status = try await Self.decode(Footprints.self, "\(base)/api/v1/nodes")
        for node in status.nodes {
            let grams = try #require(node.emissionsTodayGrams, "\(node.node): no emissions")
            let cost = try #require(node.costToday, "\(node.node): no cost")
            #expect(abs(grams - node.energyTodayJoules / 3_600_000 * 380) <= 0.01 + grams * 0.001, "\(node.node)")
            #expect(abs(cost - node.energyTodayJoules / 3_600_000 * 0.3) <= 0.0001 + cost * 0.001, "\(node.node)")
            #expect(node.currency == "EUR")
        }
        #expect(dump.stdout.components(separatedBy: "class=\"co2\"").count - 1 == 3, "CO2e on each card")
        #expect(dump.stdout.components(separatedBy: " g CO2e</span>").count - 1 == 3, "grams on each card")
        #expect(dump.stdout.components(separatedBy: " EUR</span>").count - 1 == 3, "cost on each card")

        let screenshot = try Tools.artifactsFolder().appendingPathComponent("dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        let shot = try await runProcess(
            chromium, common + ["--user-data-dir=\(profile)-shot", "--screenshot=\(screenshot.path)", "\(base)/"],
            timeout: .seconds(90)
        )
        #expect(shot.status == 0, "chromium: \(shot.stderr.suffix(2000))")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        #expect(png.count > 20_000, "screenshot suspiciously small: \(png.count) bytes")
    }

    @Test(
        "headless Chromium stacks a node's power by pod with a legend of the pods' names; a node without pod figures gets a note"
    )
    func chromiumRendersPodChart() async throws {
        let chromium = try #require(
            Tools.find("chromium", "chromium-browser", "google-chrome"),
            "chromium not found: run bash scripts/setup.sh"
        )
        try TestPaths.requireBinary()
        let folder = try TestEnvironment.makeFolder("dashboard-pods")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The last 20 minutes of sim-0 split among two pods, the node's system share and idle,
        // written as the per-pod energy service writes them, before the service starts.
        let database = folder + "/energy.db"
        let now = WallClock.nowMilliseconds()
        let thisMinute = now - now % 60_000
        do {
            let store = try EnergyStore(path: database)
            var rows: [PodMinuteRow] = []
            for minute in Int64(1)...20 {
                let start = thisMinute - minute * 60_000
                func share(_ kind: PodMinuteRow.Kind, _ pod: String, _ watts: Double) -> PodMinuteRow {
                    PodMinuteRow(
                        node: "sim-0", kind: kind, namespace: kind == .pod ? "ml" : "", pod: pod,
                        uid: pod.isEmpty ? "" : "uid-\(pod)", fromMilliseconds: start, toMilliseconds: start + 60_000,
                        cpuSeconds: 10, dynamicJoules: kind == .idle ? 0 : 60 * watts,
                        staticJoules: kind == .idle ? 60 * watts : 0, coveredMilliseconds: 60_000)
                }
                rows += [
                    share(.pod, "train-resnet", 30), share(.pod, "serve-api", minute % 2 == 0 ? 8 : 4),
                    share(.system, "", 3), share(.idle, "", 20),
                ]
            }
            try await store.addPodEnergy(rows)
            store.close()
        }
        let service = try await FaultIntegrationTests.start(folder, plugs: 2, database: database, extra: [])
        defer { service.stop() }
        let api = try #require(await TestEnvironment.get("\(service.base)/api/v1/pods/power"))
        let body = String(decoding: api.body, as: UTF8.self)
        #expect(api.status == 200 && body.contains("ml/train-resnet"), "\(api.status) \(body.prefix(400))")

        let dump = try await runProcess(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--window-size=1280,1400", "--virtual-time-budget=6000",
                "--user-data-dir=\(folder)/chromium-profile", "--dump-dom", "\(service.base)/",
            ],
            timeout: .seconds(90))
        #expect(dump.status == 0, "chromium: \(dump.stderr.suffix(2000))")
        let dom = dump.stdout
        #expect(
            dom.contains("<section id=\"pods\" class=\"panel\" aria-label=\"Power by pod\">"), "the panel is hidden")
        let shares = Self.podSharePaths(in: dom)
        let chart = shares.filter { $0.node == "sim-0" }
        #expect(
            chart.map(\.share) == ["idle", "system", "ml/train-resnet", "ml/serve-api"],
            "pod paths: \(shares) DOM: \(dom.prefix(3000))")
        for path in chart {
            #expect(path.points == 20, "\(path)")
            #expect(path.d.hasPrefix("M") && path.d.hasSuffix("Z"), "\(path)")
        }
        // The legend names the pods, with their average watts over the hour.
        #expect(dom.contains("ml/train-resnet <b>30.0 W</b>") && dom.contains("ml/serve-api <b>6.00 W</b>"), "legend")
        #expect(!shares.contains { $0.node == "sim-1" })
        #expect(dom.contains("No per-pod figures for this node in the last hour."), "note for sim-1")
        #expect(!dom.contains("cannot load the pods' power") && !dom.contains("Cannot load data"))
        #expect(!ExtremeInputTests.trapMarkers.contains { service.monitor.stderr.contains($0) })

        let screenshot = try Tools.artifactsFolder().appendingPathComponent("dashboard-pods.png")
        try? FileManager.default.removeItem(at: screenshot)
        let shot = try await runProcess(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--hide-scrollbars", "--disable-extensions", "--window-size=1280,1400", "--virtual-time-budget=6000",
                "--user-data-dir=\(folder)/chromium-profile-shot", "--screenshot=\(screenshot.path)",
                "\(service.base)/",
            ],
            timeout: .seconds(90))
        #expect(shot.status == 0, "chromium: \(shot.stderr.suffix(2000))")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
    }

    struct SharePath: CustomStringConvertible {
        var node: String
        var share: String
        var points: Int
        var d: String
        var description: String { "\(node)/\(share): \(points) points" }
    }

    /// The `<path class="pod-share …">` elements of a dumped DOM, bottom of the stack first.
    static func podSharePaths(in dom: String) -> [SharePath] {
        dom.components(separatedBy: "<path ").dropFirst().compactMap { chunk -> SharePath? in
            let tag = String(chunk.prefix { $0 != ">" })
            guard attribute("class", in: tag)?.hasPrefix("pod-share") == true,
                let node = attribute("data-node", in: tag),
                let share = attribute("data-share", in: tag)
            else {
                return nil
            }
            return SharePath(
                node: node, share: share, points: Int(attribute("data-points", in: tag) ?? "") ?? 0,
                d: attribute("d", in: tag) ?? "")
        }
    }

    struct SeriesPath: CustomStringConvertible {
        var node: String
        var points: Int
        var lastTimestamp: Int64
        var d: String
        var description: String { "\(node): \(points) points, last \(lastTimestamp)" }
    }

    /// The `<path class="series" …>` elements of a dumped DOM, with their data attributes.
    static func seriesPaths(in dom: String) -> [SeriesPath] {
        dom.components(separatedBy: "<path ").dropFirst().compactMap { chunk -> SeriesPath? in
            let tag = String(chunk.prefix { $0 != ">" })
            guard attribute("class", in: tag) == "series", let node = attribute("data-node", in: tag) else {
                return nil
            }
            return SeriesPath(
                node: node,
                points: Int(attribute("data-points", in: tag) ?? "") ?? 0,
                lastTimestamp: Int64(attribute("data-last-ts", in: tag) ?? "") ?? 0,
                d: attribute("d", in: tag) ?? ""
            )
        }
    }

    static func attribute(_ name: String, in tag: String) -> String? {
        guard
            let range = tag.range(of: " \(name)=\"")
                ?? (tag.hasPrefix("\(name)=\"") ? tag.range(of: "\(name)=\"") : nil)
        else {
            return nil
        }
        let rest = tag[range.upperBound...]
        return String(rest.prefix { $0 != "\"" })
    }
}
