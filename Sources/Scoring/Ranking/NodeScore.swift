/// The outcome for one node: all its variants, the best one and the resulting scores.
public struct NodeScore: Sendable, Hashable {
    /// The node name.
    public let node: String
    /// Every variant of the node in knowledge-base order; empty when no entry serves the node.
    public let variants: [VariantScore]
    /// The variant with the highest score (the first of equals); nil when there is none.
    public let best: VariantScore?
    /// The framework score 0...100: the best variant's truncated score, 0 without variants.
    public let score: Int

    /// Creates a node result from its variants, picking the best.
    public init(node: String, variants: [VariantScore]) {
        self.node = node
        self.variants = variants
        // Strictly greater keeps the first of equal variants, as the thesis plugin's loop did.
        var best: VariantScore?
        for variant in variants where best == nil || variant.score > best!.score {
            best = variant
        }
        self.best = best
        self.score = best?.finalScore ?? 0
    }

    /// The scheduler-extender score 0...10: `floor((score + 5) / 10)`.
    public var extenderScore: Int { Self.extenderScore(score) }

    /// Maps a framework score 0...100 to the extender range 0...10, rounding halves up.
    public static func extenderScore(_ score: Int) -> Int {
        (min(100, max(0, score)) + 5) / 10
    }
}
