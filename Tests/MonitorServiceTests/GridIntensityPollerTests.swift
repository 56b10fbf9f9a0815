import CurlClient
import EnergyModel
import Foundation
import GridSimulator
import Logging
import Store
import Synchronization
import TestSupport
import Testing

@testable import MonitorService

/// The Electricity Maps poller against the stand-in: answering, failing, rate-limited, and
/// coming back, the history kept in the store across a restart.
@Suite("Grid intensity from Electricity Maps")
struct GridIntensityPollerTests {
    static let token = "em-test-token-9f2c"

    /// Results counted by endpoint and kind.
    final class Counts: Sendable {
        private let storage = Mutex<[String: Int]>([:])
        func add(_ key: String) { storage.withLock { $0[key, default: 0] += 1 } }
        func withLock<T>(_ body: ([String: Int]) -> T) -> T { storage.withLock { body($0) } }
    }

    /// A poller of the stand-in's zone `zone` writing to `store`, with its counted results.
    struct Rig {
        let poller: GridIntensityPoller
        let rates: RatesCell
        let counted: Counts
        let logs: LogRecorder
    }

    static func rig(
        url: String, store: EnergyStore, zone: String = "DE", token: String = GridIntensityPollerTests.token,
        client: CurlMultiClient
    ) async throws -> Rig {
        let settings = ElectricityMapsSettings(zone: zone, token: token, tokenFile: "/token", url: url)
        let rates = RatesCell(
            FootprintSettings(carbon: .electricityMaps(settings)).rates(
                cached: try await store.cachedIntensity(zone: zone)))
        let counted = Counts()
        let logs = LogRecorder()
        let poller = GridIntensityPoller(
            settings: settings, client: client, store: store, rates: rates,
            logger: Logger(label: "grid") { _ in logs },
            counts: { endpoint, kind in counted.add("\(endpoint.rawValue)/\(kind.rawValue)") })
        return Rig(poller: poller, rates: rates, counted: counted, logs: logs)
    }

    @Test("answers: history and latest cached, failures counted and waited out, history refilled after")
    func lifecycle() async throws {
        // The stand-in and the poller go by the wall clock's hour, as the hours compared here.
        try await clearOfTheHourEnd()
        let simulator = GridSimulator(configuration: .init(token: Self.token, zones: ["DE"]))
        try await simulator.start()
        defer { Task { await simulator.stop() } }
        let url = try #require(simulator.url)
        let folder = try TemporaryDirectory()
        let client = CurlMultiClient()
        defer { client.shutdown() }
        let store = try EnergyStore(path: folder.path + "/energy.db")

        // Answering: the day's history and the latest hour, in the cache and in force.
        let rig = try await Self.rig(url: url, store: store, client: client)
        #expect(rig.rates.current.intensity?.isEmpty == true)
        let wait = await rig.poller.poll()
        #expect(wait == 3_600_000)
        #expect(
            simulator.requests.map { $0.split(separator: "?")[0] } == [
                "/v3/carbon-intensity/history", "/v3/carbon-intensity/latest",
            ])
        #expect(simulator.requests.allSatisfy { $0.hasSuffix("?zone=DE") })
        let cached = try await store.cachedIntensity(zone: "DE")
        #expect(cached.steps.count == 24)
        let now = WallClock.nowMilliseconds()
        let hour = now / 3_600_000 * 3_600_000
        let expected = Double(Int(clampingRounding: GridSimulator.dailyCurve(hour)))
        #expect(rig.rates.current.intensity?.value(at: now) == expected)
        #expect(cached.steps.first?.startMilliseconds == hour - 23 * 3_600_000)
        #expect(rig.counted.withLock { $0 } == ["history/ok": 1, "latest/ok": 1])

        // An hour later only the latest is asked for.
        _ = await rig.poller.poll()
        #expect(
            simulator.requests.count == 3 && simulator.requests.last?.hasPrefix("/v3/carbon-intensity/latest") == true)

        // Failing: 5xx backs off (a second doubling, well below the hour), the cache stays in force.
        simulator.setFault(.status(503))
        let backoff = await rig.poller.poll()
        #expect(backoff >= 500 && backoff <= 1000, "\(backoff)")
        let second = await rig.poller.poll()
        #expect(second >= 1000 && second <= 2000, "\(second)")
        #expect(rig.rates.current.intensity?.value(at: now) == expected)
        // The first failure was the hourly latest; after it the history is due too.
        #expect(rig.counted.withLock { ($0["latest/server"], $0["history/server"]) } == (1, 1))

        // Rate limited: the wait is the API's Retry-After.
        simulator.setFault(.rateLimited(retryAfterSeconds: 7))
        #expect(await rig.poller.poll() == 7000)
        #expect(rig.counted.withLock { $0["history/throttled"] } == 1)

        // Coming back: the history is asked for again (the hours missed), then the latest.
        simulator.setFault(nil)
        let before = simulator.requests.count
        #expect(await rig.poller.poll() == 3_600_000)
        #expect(
            simulator.requests.dropFirst(before).map { $0.split(separator: "?")[0] } == [
                "/v3/carbon-intensity/history", "/v3/carbon-intensity/latest",
            ])
        #expect(rig.counted.withLock { $0["history/ok"] } == 2)
        // One warning per change of kind, one line on recovery; the token in none of them.
        let lines = rig.logs.entries
        #expect(lines.filter { $0.level == .warning }.count == 2, "\(lines.map(\.message))")
        #expect(lines.contains { $0.message.contains("answers again") })
        #expect(!lines.contains { "\($0.message) \($0.metadata)".contains(Self.token) })
        store.close()

        // A restart while the API is down: the history comes from the cache.
        simulator.setFault(.status(500))
        let reopened = try EnergyStore(path: folder.path + "/energy.db")
        defer { reopened.close() }
        let restarted = try await Self.rig(url: url, store: reopened, client: client)
        #expect(restarted.rates.current.intensity?.value(at: now) == expected)
        #expect(restarted.rates.current.intensity?.steps.count == 24)
        _ = await restarted.poller.poll()
        #expect(restarted.rates.current.intensity?.value(at: now - 20 * 3_600_000) != nil)
    }

    @Test("a refused token and an unknown zone wait for the next period, counted and logged without the token")
    func refused() async throws {
        let simulator = GridSimulator(configuration: .init(token: Self.token, zones: ["DE"]))
        try await simulator.start()
        defer { Task { await simulator.stop() } }
        let url = try #require(simulator.url)
        let folder = try TemporaryDirectory()
        let client = CurlMultiClient()
        defer { client.shutdown() }
        let store = try EnergyStore(path: folder.path + "/energy.db")
        defer { store.close() }
        let wrong = try await Self.rig(url: url, store: store, token: "not-the-token-77", client: client)
        #expect(await wrong.poller.poll() == 3_600_000)
        #expect(wrong.counted.withLock { $0 } == ["history/auth": 1])
        #expect(!wrong.logs.entries.contains { "\($0.message) \($0.metadata)".contains("not-the-token-77") })
        #expect(wrong.logs.entries.contains { $0.metadata["error"]?.contains("HTTP 401") == true })
        let unknown = try await Self.rig(url: url, store: store, zone: "XX", client: client)
        #expect(await unknown.poller.poll() == 3_600_000)
        #expect(unknown.counted.withLock { $0 } == ["history/not_found": 1])
        #expect(try await store.cachedIntensity(zone: "XX").isEmpty)
    }

    @Test("answers of the documented shape: null hours left out, bad figures refused in one line")
    func parsing() throws {
        let history = Array(
            #"{"zone":"DE","history":[{"zone":"DE","carbonIntensity":302,"datetime":"2018-04-25T18:00:00.000Z","updatedAt":"2018-04-25T18:07:01.000Z"},{"zone":"DE","carbonIntensity":null,"datetime":"2018-04-25T19:00:00.000Z"}]}"#
                .utf8)
        let steps = try ElectricityMapsClient.parse(history, endpoint: .history, zone: "DE")
        #expect(steps == [.init(startMilliseconds: 1_524_679_200_000, value: 302)])
        for body in [
            #"{"zone":"DE","carbonIntensity":"lots","datetime":"2018-04-25T18:00:00Z"}"#,
            #"{"zone":"FR","carbonIntensity":50,"datetime":"2018-04-25T18:00:00Z"}"#,
            #"{"zone":"DE","carbonIntensity":50}"#, "<html>busy</html>",
            #"{"zone":"DE","carbonIntensity":-3,"datetime":"2018-04-25T18:00:00Z"}"#,
        ] {
            #expect(throws: ElectricityMapsClient.Failure.self) {
                _ = try ElectricityMapsClient.parse(Array(body.utf8), endpoint: .latest, zone: "DE")
            }
        }
    }
}
