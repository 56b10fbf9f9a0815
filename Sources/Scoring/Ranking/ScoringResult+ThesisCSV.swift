import Foundation

extension ScoringResult {
    /// The header of the thesis scoring log.
    public static let thesisCSVHeader =
        "Job;Node;Variant;Weight;LiveIdle;Marginal;PredTotal;RawPerf;RawEff;NormPerf;NormEff;FinalScore"

    /// One line per variant in the thesis log's format (semicolon-separated, the same decimal
    /// places), so a run can be compared with `thesis_simulation_data.csv` line by line.
    public var thesisCSVRows: [String] {
        nodes.flatMap { node in
            node.variants.map { variant in
                [
                    job ?? "",
                    variant.node,
                    variant.variant,
                    String(format: "%.1f", variant.weight),
                    String(format: "%.2f", variant.liveIdleWatts),
                    String(format: "%.2f", variant.marginalWatts),
                    String(format: "%.2f", variant.predictedTotalWatts),
                    String(format: "%.2f", variant.rawPerformance),
                    String(format: "%.4f", variant.rawEfficiency),
                    String(format: "%.1f", variant.normalizedPerformance),
                    String(format: "%.1f", variant.normalizedEfficiency),
                    String(variant.finalScore),
                ].joined(separator: ";")
            }
        }
    }
}
