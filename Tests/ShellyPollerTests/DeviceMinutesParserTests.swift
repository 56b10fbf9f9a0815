import EnergyModel
import Foundation
import JSON
import Testing
import TestSupport

@testable import ShellyPoller

/// Real payloads are read in place; without them (a checkout without ../shared) the tests that
/// need them are skipped, and under CI they must be there.
private let fixturesRunnable = ShellyFixtures.available || ProcessInfo.processInfo.environment["CI"] == "true"

/// The per-minute figures and stored histories of device payloads: where a gap's energy lies.
@Suite("Per-minute figures and history records")
struct DeviceMinutesParserTests {
    static func json(_ name: String) throws -> JSONValue {
        try #require(JSONValue.parse(try ShellyFixtures.bytes(name)), "\(name) is not JSON")
    }

    @Test(
        "Gen2+ by_minute: the three whole minutes before minute_ts, newest first, milliwatt-hours",
        .enabled(if: fixturesRunnable, "../shared/fixtures/shelly is absent"))
    func gen2ByMinute() throws {
        // Read at the device's own unixtime of the same Shelly.GetStatus: 54 s into the minute.
        let status = try Self.json("gen2-plus-plug-s-fw1.7.5-shelly-getstatus.json")
        let takenAt = try #require(status["sys"]?["unixtime"]?.integer) * 1000
        let minutes = try #require(
            ShellyParser.rpcMinutes(status, component: MeterComponent(kind: .switch, id: 0), takenAt: takenAt))
        #expect(minutes.source == .minutes)
        #expect(
            minutes.intervals
                == [
                    DeviceMinutes.Interval(
                        startMilliseconds: 1_779_362_100_000, endMilliseconds: 1_779_362_160_000, joules: 619.342 * 3.6),
                    DeviceMinutes.Interval(
                        startMilliseconds: 1_779_362_160_000, endMilliseconds: 1_779_362_220_000, joules: 618.897 * 3.6),
                    DeviceMinutes.Interval(
                        startMilliseconds: 1_779_362_220_000, endMilliseconds: 1_779_362_280_000, joules: 618.451 * 3.6),
                ])
        // 36.7 W for a minute is 611.7 mWh: every entry is a whole minute, none the current one.
        let component = try Self.json("gen2-plus-plug-s-fw1.7.5-switch0-status.json")
        #expect(
            ShellyParser.rpcMinutes(component, component: MeterComponent(kind: .switch, id: 0), takenAt: takenAt)
                == minutes)
        // An older firmware counts minutes from its own second 45: they are taken as they are.
        let older = try Self.json("gen2-plus-plug-s-shelly-getstatus.json")
        let olderAt = try #require(older["sys"]?["unixtime"]?.integer) * 1000
        let shifted = try #require(
            ShellyParser.rpcMinutes(older, component: MeterComponent(kind: .switch, id: 0), takenAt: olderAt))
        #expect(shifted.intervals.last?.endMilliseconds == 1_707_326_925_000)
        #expect(shifted.intervals.last?.joules == 34.786 * 3.6)
        // A device clock a day off: no minutes.
        #expect(
            ShellyParser.rpcMinutes(status, component: MeterComponent(kind: .switch, id: 0), takenAt: takenAt + 86_400_000)
                == nil)
    }

    @Test(
        "Gen1 counters: the last three round minutes in watt-minutes, timestamp in the device's local time",
        .enabled(if: fixturesRunnable, "../shared/fixtures/shelly is absent"))
    func gen1Counters() throws {
        let status = try Self.json("gen1-plug-s-status.json")
        let takenAt = try #require(status["unixtime"]?.integer) * 1000
        let minutes = try #require(ShellyParser.gen1Minutes(status, channel: 0, takenAt: takenAt))
        // unixtime 1707332241 (UTC), timestamp 1707335841 (UTC+1): the current minute is 1707332220.
        #expect(minutes.intervals.map(\.endMilliseconds) == [1_707_332_100_000, 1_707_332_160_000, 1_707_332_220_000])
        #expect(minutes.intervals.allSatisfy { $0.joules == 0 })
        #expect(ShellyParser.gen1Minutes(status, channel: 1, takenAt: takenAt) == nil)
        // A meter without counters (an energy meter's emeters) has none.
        #expect(ShellyParser.gen1Minutes(try Self.json("gen1-3em-status.json"), channel: 0, takenAt: takenAt) == nil)
    }

    @Test("EMData and EM1Data records: each row a period from the block's ts, phases summed, Wh to joules")
    func energyRecords() throws {
        let three = """
            {"id":1,"result":{"keys":["a_total_act_energy","a_fund_act_energy","b_total_act_energy","c_total_act_energy","a_max_voltage"],
            "data":[{"ts":1700000040,"period":60,"values":[[1.5,1.4,0.5,0.25,231],[2,1.9,null,0.5,230]]},
            {"ts":1700000400,"period":60,"values":[[0.1,0,0.2,0.3,229]]}],"next_record_ts":1700000460}}
            """
        let (intervals, next) = try ShellyParser.energyRecords(try #require(JSONValue.parse(Array(three.utf8))))
        // The second row lacks phase b: left out, not read as 0.
        #expect(intervals.map(\.startMilliseconds) == [1_700_000_040_000, 1_700_000_400_000])
        #expect(intervals.map(\.endMilliseconds) == [1_700_000_100_000, 1_700_000_460_000])
        #expect(zip(intervals.map(\.joules), [2.25 * 3600, 0.6 * 3600]).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(next == 1_700_000_460)
        let single = #"{"keys":["total_act_energy","max_voltage"],"data":[{"ts":1700000100,"period":60,"values":[[3.5,230]]}]}"#
        let (one, none) = try ShellyParser.energyRecords(try #require(JSONValue.parse(Array(single.utf8))))
        #expect(one.map(\.joules) == [3.5 * 3600] && none == nil)
        for bad in [#"{"keys":["max_voltage"],"data":[]}"#, #"{"data":[]}"#, #"{"code":-114,"message":"Method not found"}"#] {
            #expect(throws: ShellyPayloadError.self) {
                try ShellyParser.energyRecords(try #require(JSONValue.parse(Array(bad.utf8))))
            }
        }
    }

    @Test("Gen1 em_data.csv: a row per minute in UTC, watt-hours")
    func gen1CSV() throws {
        let text = """
            Date/time UTC,Active energy Wh,Returned energy Wh,Min V,Max V
            2023-11-14 22:14,1.500,0.000,229.0,231.0
            2023-11-14 22:15,2.250,0.000,229.0,231.0
            not a row
            2023-11-14 22:16,0.750,0.000,229.0,231.0
            """
        let intervals = try ShellyParser.gen1EnergyCSV(
            text, fromMilliseconds: 1_700_000_040_000, toMilliseconds: 1_700_000_160_000)
        // 2023-11-14 22:14 UTC is 1700000040.
        #expect(
            intervals.map(\.startMilliseconds) == [1_700_000_040_000, 1_700_000_100_000]
                && intervals.map(\.joules) == [1.5 * 3600, 2.25 * 3600])
        #expect(throws: ShellyPayloadError.self) {
            try ShellyParser.gen1EnergyCSV("<html>", fromMilliseconds: 0, toMilliseconds: 1)
        }
    }
}
