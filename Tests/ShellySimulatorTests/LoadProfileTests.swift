import Foundation
import Testing

@testable import ShellySimulator

@Suite("Simulated load")
struct LoadProfileTests {
    @Test("a flat profile integrates exactly")
    func flat() {
        let profile = LoadProfile(idleWatts: 10, jobWatts: 0)
        #expect(abs(profile.joules(from: 100, to: 160) - 600) < 1e-9)
    }

    @Test("job plateaus reach idle + job power and ramps are continuous")
    func shape() {
        let profile = LoadProfile(idleWatts: 5, jobWatts: 20, jobPeriodSeconds: 60, jobDurationSeconds: 30, rampSeconds: 2)
        #expect(profile.watts(at: 15) == 25)
        #expect(profile.watts(at: 45) == 5)
        var previous = profile.watts(at: 0)
        for step in 1...60_000 {
            let value = profile.watts(at: Double(step) / 1000)
            #expect(abs(value - previous) < 0.05)
            previous = value
        }
    }

    @Test("the integral matches a fine Riemann sum")
    func integral() {
        let profile = LoadProfile.tvpc
        var sum = 0.0
        let steps = 600_000
        for step in 0..<steps {
            sum += profile.watts(at: 1_000 + (Double(step) + 0.5) * 60 / Double(steps))
        }
        let riemann = sum * 60 / Double(steps)
        #expect(abs(profile.joules(from: 1000, to: 1060) - riemann) < 1e-3)
    }

    @Test("the reference nodes have the thesis' orders of magnitude")
    func reference() {
        let times = stride(from: 0.0, to: 600, by: 0.5)
        #expect(times.map(LoadProfile.tvpc.watts).max()! > 150)
        #expect(times.map(LoadProfile.tvpc.watts).min()! > 40)
        #expect(times.map(LoadProfile.wyse.watts).max()! < 14)
        #expect(times.map(LoadProfile.rpi.watts).max()! < 3.1)
    }
}
