/// What became of a node annotation write; the values are the `result` label of
/// `energy_monitor_annotation_patches_total`, which has a series for every case.
public enum AnnotationPatchResult: String, Sendable, CaseIterable {
    /// The API server took the patch.
    case ok
    /// The patch failed (after its retries).
    case error
    /// A sample waiting to be written was replaced by a newer one before it was.
    case skipped
}
