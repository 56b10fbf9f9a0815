/// How a pod asks the energy scheduler to score it, defined once for those who write pods
/// (users, the workflow runner) and the scorer that reads them: label `app=ml-workflow` opts
/// in, label `workload-profile` names the knowledge-base profile, annotation
/// `scheduler.policy/performance-weight` sets the weight between energy (0) and performance (1).
public enum WorkloadContract {
    /// The label that opts a pod in.
    public static let optInLabel = "app"
    /// The value of ``optInLabel`` that opts a pod in.
    public static let optInValue = "ml-workflow"
    /// The label naming the workload profile.
    public static let profileLabel = "workload-profile"
    /// The annotation carrying the weight.
    public static let weightAnnotation = "scheduler.policy/performance-weight"
    /// The weight used when the annotation is missing or unusable.
    public static let defaultWeight = 0.5
    /// `spec.schedulerName` of pods for the energy-aware second scheduler (`k8s/scheduler/`);
    /// pods without it go to the default scheduler.
    public static let energySchedulerName = "my-energy-scheduler"
}
