import AnnotationContract

/// How a pod asks to be scored, read from its labels and annotations:
/// label `app=ml-workflow` opts in, label `workload-profile` names the profile, annotation
/// `scheduler.policy/performance-weight` sets the weight between energy (0) and performance (1).
///
/// Weight handling: missing means 0.5; a number outside 0...1 is clamped; anything that is not
/// a finite decimal number falls back to 0.5. The last two are reported as diagnostics rather
/// than guessed at silently, because a typo like `0,8` would otherwise schedule as if the
/// author had asked for a balanced weight.
public struct PodPolicy: Sendable, Hashable {
    /// The label that opts a pod in, and its required value.
    public static let optInLabel = WorkloadContract.optInLabel
    /// The value of ``optInLabel`` that opts a pod in.
    public static let optInValue = WorkloadContract.optInValue
    /// The label naming the workload profile.
    public static let profileLabel = WorkloadContract.profileLabel
    /// The annotation carrying the weight.
    public static let weightAnnotation = WorkloadContract.weightAnnotation
    /// The weight used when the annotation is missing or unusable.
    public static let defaultWeight = WorkloadContract.defaultWeight

    /// The pod's name, for diagnostics and logs.
    public let podName: String?
    /// Whether the pod carries `app=ml-workflow`.
    public let optedIn: Bool
    /// The requested profile; nil when the pod does not opt in or names none.
    public let profile: String?
    /// The weight in 0...1 to use (``defaultWeight`` for pods that do not opt in).
    public let weight: Double
    /// Problems found in the pod's scoring request (bad weight, missing profile).
    public let diagnostics: [ScoringDiagnostic]

    /// Reads the policy from a pod's labels and annotations.
    public init(podName: String? = nil, labels: [String: String], annotations: [String: String]) {
        self.podName = podName
        optedIn = labels[Self.optInLabel] == Self.optInValue
        guard optedIn else {
            profile = nil
            weight = Self.defaultWeight
            diagnostics = []
            return
        }
        var diagnostics: [ScoringDiagnostic] = []
        if let name = labels[Self.profileLabel], !name.isEmpty {
            profile = name
        } else {
            profile = nil
            diagnostics.append(
                ScoringDiagnostic(
                    reason: .profileMissing,
                    pod: podName,
                    message: "pod opts in with \(Self.optInLabel)=\(Self.optInValue) but has no "
                        + "\(Self.profileLabel) label; all nodes score equally"
                )
            )
        }
        let (weight, weightDiagnostic) = Self.parseWeight(annotations[Self.weightAnnotation], podName: podName)
        self.weight = weight
        if let weightDiagnostic { diagnostics.append(weightDiagnostic) }
        self.diagnostics = diagnostics
    }

    private static func parseWeight(_ text: String?, podName: String?) -> (Double, ScoringDiagnostic?) {
        guard let text else { return (defaultWeight, nil) }
        guard let value = AnnotationDecimal.parse(text) else {
            return (
                defaultWeight,
                ScoringDiagnostic(
                    reason: .weightInvalid,
                    pod: podName,
                    message: "\(weightAnnotation): not a number (\"\(text)\"); using \(defaultWeight)"
                )
            )
        }
        let clamped = min(1, max(0, value))
        guard clamped == value else {
            return (
                clamped,
                ScoringDiagnostic(
                    reason: .weightOutOfRange,
                    pod: podName,
                    message: "\(weightAnnotation): \(value) outside 0...1; using \(clamped)"
                )
            )
        }
        return (value, nil)
    }
}
