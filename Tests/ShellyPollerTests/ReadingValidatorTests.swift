import EnergyModel
import Testing

@testable import ShellyPoller

@Suite("Reading validation")
struct ReadingValidatorTests {
    let validator = ReadingValidator(negativeNoiseWatts: 1)

    @Test("believable readings pass unchanged")
    func passes() throws {
        let reading = Reading(watts: 48.5, volts: 230.1, amps: 0.23, energyWattHours: 12)
        #expect(try validator.validate(reading).get() == reading)
    }

    @Test("small negative noise reads as 0 W")
    func noise() throws {
        #expect(try validator.validate(Reading(watts: -0.4)).get().watts == 0)
    }

    @Test("invalid power is refused with reason invalid", arguments: [Double.nan, .infinity, -.infinity, -50, -250, 8000.5, 1e7, 1e12])
    func refused(watts: Double) {
        guard case .failure(let failure) = validator.validate(Reading(watts: watts)) else {
            Issue.record("\(watts) W accepted")
            return
        }
        #expect(failure.reason == .invalid)
    }

    @Test("the largest believable power depends on what the device can carry")
    func ratings() {
        let watts = 20_000.0
        #expect((try? validator.validate(Reading(watts: watts), rating: .plug).get()) == nil)
        #expect((try? validator.validate(Reading(watts: watts), rating: .singlePhaseMeter).get())?.watts == watts)
        #expect((try? validator.validate(Reading(watts: 1e7), rating: .threePhaseMeter).get()) == nil)
        #expect(MeterRating(.switch) == .plug && MeterRating(.em1) == .singlePhaseMeter && MeterRating(.em) == .threePhaseMeter)
        #expect(MeterRating.plug.ratedWatts == 4000)
    }

    @Test("absurd side values are dropped, not stored; the device counter is left to the ledger, which counts its refusals")
    func sideValues() throws {
        let reading = try validator.validate(Reading(watts: 10, volts: .nan, amps: -3, energyWattHours: .infinity)).get()
        #expect(reading.volts == nil && reading.amps == nil)
        #expect(reading.watts == 10)
        // Judged (and refused as invalid, counted, logged) by `EnergyCounters.judgeDeviceCounter`.
        #expect(reading.energyWattHours == .infinity)
        var counters = EnergyCounters()
        let verdict = counters.add(
            Sample(node: "n", timestampMilliseconds: 1000, reading: reading), maxGapMilliseconds: 3000,
            device: DeviceCounterContext()
        ).counter
        guard case .refused(let refusal) = verdict else {
            Issue.record("an infinite counter was taken: \(verdict)")
            return
        }
        #expect(refusal.reason == .invalid)
    }
}
