import Scoring
import Workflow

/// The files `demo --cluster` and `workflow --simulate` use when none are given, built into
/// the binary so that both run from any folder: the thesis's workflow
/// (`workflows/thesis-workflow.yaml`) and the reference cluster's knowledge base
/// (`k8s/scheduler/knowledge-base.yaml`), embedded from those very files at build time.
public enum BuiltInDefaults {
    /// The text of `workflows/thesis-workflow.yaml`.
    public static let thesisWorkflowText = String(
        decoding: PackageResources.thesis_workflow_yaml, as: UTF8.self)
    /// The text of `k8s/scheduler/knowledge-base.yaml` (a ConfigMap manifest).
    public static let knowledgeBaseText = String(
        decoding: PackageResources.knowledge_base_yaml, as: UTF8.self)

    /// How errors name the built-in workflow.
    public static let thesisWorkflowName = "built-in workflows/thesis-workflow.yaml"

    /// The thesis's workflow.
    public static func thesisWorkflow() throws(WorkflowFileError) -> WorkflowDefinition {
        try WorkflowDefinition(yaml: thesisWorkflowText, file: thesisWorkflowName)
    }

    /// The reference cluster's knowledge base.
    public static func knowledgeBase() throws(KnowledgeBaseError) -> KnowledgeBase {
        try KnowledgeBase(yaml: knowledgeBaseText)
    }
}
