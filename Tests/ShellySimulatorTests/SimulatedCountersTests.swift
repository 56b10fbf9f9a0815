import EnergyModel
import JSON
import ShellyPoller
import Testing

@testable import ShellySimulator

/// The simulated devices' counters are exact: read back through the poller's own parser, the
/// energy counter rises by the integral of the power served, the per-minute figures are that
/// integral over each whole minute, a reboot restarts the counter and the uptime together, and
/// a three-phase meter's records add up to the same integral.
@Suite("Simulated counters")
struct SimulatedCountersTests {
    static let boot = 1_700_000_000.0

    static func plug(generation: Int, model: SimulatedModel = .plug, fault: SimulatedFault? = nil) -> SimulatedPlug {
        SimulatedPlug(
            .init(node: "sim-3", port: 0, generation: generation, profile: .generic(index: 3), fault: fault, model: model),
            now: boot)
    }

    static func body(_ plug: SimulatedPlug, _ uri: String, at now: Double) throws -> JSONValue {
        try #require(JSONValue.parse(try bytes(plug, uri, at: now)), "\(uri) is not JSON")
    }

    static func bytes(_ plug: SimulatedPlug, _ uri: String, at now: Double) throws -> [UInt8] {
        let answer = plug.answer(method: "GET", uri: uri, authorization: nil, now: now)
        #expect(answer.status == 200, "\(uri): \(answer.body.prefix(200))")
        return Array(answer.body.utf8)
    }

    @Test("the profile's antiderivative agrees with a 1 ms Simpson sum", arguments: [0, 1, 2, 3, 4, 5, 6])
    func exactIntegral(index: Int) {
        for profile in [LoadProfile.generic(index: index), .flat(index: index), .step(index: index), .tvpc, .wyse, .rpi] {
            for (from, to) in [(Self.boot, Self.boot + 60), (Self.boot + 17.25, Self.boot + 313.5), (Self.boot - 3.1, Self.boot + 0.7)] {
                let exact = profile.exactJoules(from: from, to: to)
                let simpson = profile.joules(from: from, to: to)
                #expect(abs(exact - simpson) < 1e-4 * max(1, simpson), "\(profile): \(exact) vs \(simpson)")
            }
        }
    }

    @Test("Gen2+: aenergy.total rises by the power served, by_minute holds the whole minutes before minute_ts")
    func gen2() throws {
        let plug = Self.plug(generation: 2)
        let now = Self.boot + 1_000.4
        let first = try Self.bytes(plug, "/rpc/Switch.GetStatus?id=0", at: now)
        let laterBytes = try Self.bytes(plug, "/rpc/Switch.GetStatus?id=0", at: now + 1_234.5)
        let later = try #require(JSONValue.parse(laterBytes))
        let reading = { (bytes: [UInt8]) throws -> Double in
            guard case .reading(let reading) = try ShellyParser.componentStatus(bytes, kind: .switch) else { return -1 }
            return reading.energyWattHours ?? -1
        }
        let served = plug.joules(from: now, to: now + 1_234.5) / 3600
        // The counter is written to the milliwatt-hour.
        #expect(abs(try reading(laterBytes) - reading(first) - served) <= 0.001)
        let minutes = try #require(
            ShellyParser.rpcMinutes(
                later, component: MeterComponent(kind: .switch, id: 0), takenAt: Int64((now + 1_234.5) * 1000)))
        #expect(minutes.intervals.count == 3)
        for interval in minutes.intervals {
            let exact = plug.joules(
                from: Double(interval.startMilliseconds) / 1000, to: Double(interval.endMilliseconds) / 1000)
            #expect(abs(interval.joules - exact) <= 0.0036 / 2 + 1e-9)
        }
        #expect(minutes.intervals.last?.endMilliseconds == Int64(((now + 1_234.5) / 60).rounded(.down) * 60_000))
    }

    @Test("Gen1: total in whole watt-minutes, counters of the last round minutes, timestamp in local time")
    func gen1() throws {
        let plug = Self.plug(generation: 1)
        let now = Self.boot + 601.7
        let status = try Self.body(plug, "/status", at: now)
        let parsed = try ShellyParser.gen1Status(try Self.bytes(plug, "/status", at: now), channel: 0)
        guard case .reading(let reading) = parsed else {
            Issue.record("no reading")
            return
        }
        #expect(abs((reading.energyWattHours ?? 0) - plug.energyWattHours(at: now)) < 1.0 / 60)
        let minutes = try #require(ShellyParser.gen1Minutes(status, channel: 0, takenAt: Int64(now * 1000)))
        for interval in minutes.intervals {
            let exact = plug.joules(
                from: Double(interval.startMilliseconds) / 1000, to: Double(interval.endMilliseconds) / 1000)
            #expect(abs(interval.joules - exact) <= 0.03 + 1e-9)
        }
        #expect(status["uptime"]?.integer == 601)
    }

    @Test("the reboot fault restarts the counter and the uptime together, every 15 s")
    func reboot() throws {
        let plug = Self.plug(generation: 2, fault: .reboot)
        let now = Self.boot + 40
        let system = try Self.body(plug, "/rpc/Sys.GetStatus", at: now)
        #expect(system["uptime"]?.integer == 10)
        let status = try Self.body(plug, "/rpc/Switch.GetStatus?id=0", at: now)
        let total = try #require(status["aenergy"]?["total"]?.number)
        #expect(abs(total - plug.joules(from: Self.boot + 30, to: now) / 3600) <= 0.0005)
    }

    @Test("a Pro 3EM's EMData records add up, minute by minute, to the integral of the power served")
    func threePhaseRecords() throws {
        let plug = Self.plug(generation: 2, model: .threePhaseMeter)
        let now = Self.boot + 86_400 + 17
        let from = Int64(Self.boot + 3_600) / 60 * 60
        let to = from + 7_200
        var cursor = from
        var intervals: [DeviceMinutes.Interval] = []
        while cursor < to {
            let body = try Self.body(plug, "/rpc/EMData.GetData?id=0&ts=\(cursor)&end_ts=\(to - 1)", at: now)
            let (chunk, next) = try ShellyParser.energyRecords(body)
            intervals += chunk
            cursor = next ?? to
        }
        #expect(intervals.count == 120)
        let total = intervals.reduce(0) { $0 + $1.joules }
        let exact = plug.joules(from: Double(from), to: Double(to))
        // Each phase's record is written to the milliwatt-hour.
        #expect(abs(total - exact) <= 120 * 3 * 1.8, "\(total) vs \(exact)")
        let status = try Self.bytes(plug, "/rpc/EM.GetStatus?id=0", at: now)
        guard case .reading(let reading) = try ShellyParser.componentStatus(status, kind: .em) else {
            Issue.record("no reading")
            return
        }
        #expect(abs(reading.watts - plug.watts(at: now)) < 0.001)
        let records = try Self.body(plug, "/rpc/EMData.GetRecords?id=0", at: now)
        #expect(records["data_blocks"]?[0]?["period"]?.integer == 60)
    }

    @Test("the gap faults: after a pause the counter falls to 0, or stands 10^6 Wh higher, while the device stays up")
    func gapFaults() throws {
        for fault in [SimulatedFault.gapCounterDrop, .gapCounterJump] {
            let plug = Self.plug(generation: 2, fault: fault)
            let first = try Self.body(plug, "/rpc/Switch.GetStatus?id=0", at: Self.boot + 100)
            let second = try Self.body(plug, "/rpc/Switch.GetStatus?id=0", at: Self.boot + 101)
            let after = try Self.body(plug, "/rpc/Switch.GetStatus?id=0", at: Self.boot + 131)
            let totals = [first, second, after].map { $0["aenergy"]?["total"]?.number ?? -1 }
            #expect(totals[1] >= totals[0])
            if fault == .gapCounterDrop {
                #expect(totals[2] < 0.001, "\(totals)")
            } else {
                #expect(totals[2] > totals[1] + 999_999, "\(totals)")
            }
            #expect(try Self.body(plug, "/rpc/Sys.GetStatus", at: Self.boot + 131)["uptime"]?.integer == 131)
        }
    }
}
