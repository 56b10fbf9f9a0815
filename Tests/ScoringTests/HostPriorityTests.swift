import Foundation
import Testing
import TestSupport

@testable import Scoring

@Suite("HostPriority wire format")
struct HostPriorityTests {
    @Test(
        "decodes the HostPriority and HostPriorityList fixtures",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func fixtures() throws {
        let decoder = JSONDecoder()
        #expect(
            try decoder.decode(
                HostPriority.self, from: TestPaths.kubernetesFixture("host-priority-upstream-types_test.json"))
                == HostPriority(host: "myhost", score: 1)
        )
        #expect(
            try decoder.decode(
                [HostPriority].self, from: TestPaths.kubernetesFixture("host-priority-list-captured-simulator.json"))
                == [HostPriority(host: "node-sc9ns", score: 0), HostPriority(host: "node-pwzdq", score: 0)]
        )
        #expect(
            try decoder.decode(
                [HostPriority].self, from: TestPaths.kubernetesFixture("host-priority-list-derived-tas-test.json"))
                == [HostPriority(host: "node A", score: 10), HostPriority(host: "node B", score: 9)]
        )
    }

    @Test(
        "encodes exactly like the upstream fixture",
        .enabled(if: TestPaths.kubernetesFixtureTestsEnabled, "../shared/fixtures/kubernetes is absent")
    )
    func encoding() throws {
        let fixture = try TestPaths.kubernetesFixture("host-priority-upstream-types_test.json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(
            String(decoding: try encoder.encode(HostPriority(host: "myhost", score: 1)), as: UTF8.self)
                == String(decoding: fixture, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
