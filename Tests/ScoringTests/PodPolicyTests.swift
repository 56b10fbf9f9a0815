import Testing

@testable import Scoring

@Suite("PodPolicy")
struct PodPolicyTests {
    let optIn = ["app": "ml-workflow", "workload-profile": "training"]

    @Test("a pod without app=ml-workflow does not opt in, whatever else it carries")
    func notOptedIn() {
        for labels in [[:], ["app": "nginx", "workload-profile": "training"], ["workload-profile": "training"]] {
            let policy = PodPolicy(
                podName: "p", labels: labels, annotations: ["scheduler.policy/performance-weight": "0.9"])
            #expect(!policy.optedIn)
            #expect(policy.profile == nil)
            #expect(policy.diagnostics.isEmpty)
        }
    }

    @Test("an opted-in pod without weight gets 0.5")
    func defaultWeight() {
        let policy = PodPolicy(podName: "p", labels: optIn, annotations: [:])
        #expect(policy.optedIn)
        #expect(policy.profile == "training")
        #expect(policy.weight == 0.5)
        #expect(policy.diagnostics.isEmpty)
    }

    @Test("valid weights are used as given", arguments: ["0", "0.0", "0.3", "1", "1.0", " 0.7 "])
    func validWeight(text: String) {
        let policy = PodPolicy(labels: optIn, annotations: ["scheduler.policy/performance-weight": text])
        #expect(policy.weight == Double(text.trimmingCharacters(in: .whitespaces)))
        #expect(policy.diagnostics.isEmpty)
    }

    @Test("weights outside 0...1 are clamped and reported", arguments: [("1.5", 1.0), ("-0.2", 0.0), ("42", 1.0)])
    func clampedWeight(text: String, expected: Double) {
        let policy = PodPolicy(
            podName: "job-1", labels: optIn, annotations: ["scheduler.policy/performance-weight": text])
        #expect(policy.weight == expected)
        #expect(policy.diagnostics.map(\.reason) == [.weightOutOfRange])
        #expect(policy.diagnostics.first?.pod == "job-1")
    }

    @Test(
        "unparsable weights fall back to 0.5 and are reported", arguments: ["0,8", "high", "", "nan", "inf", "0x1p-1"])
    func invalidWeight(text: String) {
        let policy = PodPolicy(
            podName: "job-1", labels: optIn, annotations: ["scheduler.policy/performance-weight": text])
        #expect(policy.weight == 0.5)
        #expect(policy.diagnostics.map(\.reason) == [.weightInvalid])
        #expect(policy.diagnostics.first?.message.contains("\"\(text)\"") == true)
    }

    @Test("an opted-in pod without a profile label is reported")
    func missingProfile() {
        let policy = PodPolicy(
            podName: "job-2", labels: ["app": "ml-workflow", "workload-profile": ""], annotations: [:])
        #expect(policy.optedIn)
        #expect(policy.profile == nil)
        #expect(policy.diagnostics.map(\.reason) == [.profileMissing])
    }
}
