import Foundation
import Scoring

/// The `score` command's readable report: the profile's normalisation figures, one row per
/// variant with every intermediate figure, the ranking with the extender's 0...10 scores, and
/// the diagnostics.
struct ScoreReport {
    let result: ScoringResult
    let profile: Profile
    let snapshots: [NodeSnapshot]

    var table: String {
        var text = ""
        text += "profile \(result.profile), weight \(String(format: "%.2f", result.weight))"
        text += " (0 = energy only, 1 = performance only)\n"
        text += "maxP = \(String(format: "%.2f", profile.maxPerformance))"
        text += "   maxE = \(String(format: "%.4f", profile.maxEfficiency)) per W"
        text += "   (best performance and performance per W over all \(profile.entries.count) entries)\n\n"

        var rows = [
            [
                "node", "variant", "live W", "source", "marginal W", "pred W", "penalty", "raw perf", "raw eff",
                "norm perf", "norm eff", "score", "final",
            ]
        ]
        for node in result.nodes {
            let source = Self.source(of: snapshots.first { $0.name == node.node }?.power)
            if node.variants.isEmpty {
                rows.append([node.node, "(none)", "", source, "", "", "", "", "", "", "", "", "0"])
            }
            for variant in node.variants {
                rows.append([
                    variant.node,
                    variant.variant,
                    String(format: "%.2f", variant.liveIdleWatts),
                    variant.isLiveMeasured ? source : "kb idle (\(source))",
                    String(format: "%.2f", variant.marginalWatts),
                    String(format: "%.2f", variant.predictedTotalWatts),
                    String(format: "%.4f", variant.penalty),
                    String(format: "%.2f", variant.rawPerformance),
                    String(format: "%.4f", variant.rawEfficiency),
                    String(format: "%.1f", variant.normalizedPerformance),
                    String(format: "%.1f", variant.normalizedEfficiency),
                    String(format: "%.2f", variant.score),
                    String(variant.finalScore),
                ])
            }
        }
        text += Self.align(rows, leftColumns: [0, 1, 3])
        text += "\nranking (extender score = floor((score + 5) / 10)):\n"
        var ranking = [["rank", "node", "score", "extender", "best variant"]]
        for (index, node) in result.ranked.enumerated() {
            ranking.append([
                "\(index + 1)", node.node, String(node.score), String(node.extenderScore),
                node.best?.variant ?? "(none)",
            ])
        }
        text += Self.align(ranking, leftColumns: [1, 4])
        if !result.diagnostics.isEmpty {
            text += "\ndiagnostics:\n"
            for diagnostic in result.diagnostics {
                text += "  \(diagnostic)\n"
            }
        }
        return text
    }

    /// Where a node's live watts came from, in a few words.
    static func source(of power: LivePower?) -> String {
        switch power {
        case .fresh(_, let age):
            return age == 0 ? "live" : "live, \(Int64(clampingRounding: age, .towardZero)) s old"
        case .stale(_, let age):
            return "stale, \(Int64(clampingRounding: age, .towardZero)) s old"
        case .invalid:
            return "invalid annotation"
        case .absent, nil:
            return "no reading"
        }
    }

    /// Pads the cells to column width: text columns left-aligned, figures right-aligned.
    static func align(_ rows: [[String]], leftColumns: Set<Int>) -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in
            rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return leftColumns.contains(column) ? cell + padding : padding + cell
            }
            .joined(separator: "  ")
            .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        .joined(separator: "\n") + "\n"
    }
}
