import Foundation

/// The experiment report: one self-contained HTML page (inline style and SVG, no script, no
/// network) from an `ExperimentSummary`.
public enum ReportPage {
    /// The page. `generated` is printed in its footer.
    public static func html(_ summary: ExperimentSummary, generated: Date = Date()) -> String {
        let e = SVGChart.escape
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Workflow experiment: energy and duration per scheduler and weight</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
            h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
            table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
            th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
            th { background: #f3f3f3; } td.l, th.l { text-align: left; }
            .sim { background: #fff3c4; border-radius: 3px; padding: 0 4px; font-size: 12px; }
            .good { color: #1b7e3c; } .bad { color: #b3261e; } .note { color: #555; font-size: 13px; }
            figure { margin: 8px 0 24px; } figcaption { font-size: 13px; color: #555; }
            </style></head><body>
            <h1>Workflow experiment: energy and duration per scheduler and weight</h1>

            """
        page +=
            "<p class=\"note\">Sources: "
            + summary.sources.map {
                "\(e($0.path)) (\($0.complete) complete run\($0.complete == 1 ? "" : "s")"
                    + ($0.incomplete > 0 ? ", \($0.incomplete) incomplete left out" : "") + ")"
            }.joined(separator: "; ")
            + ". Means ± sample standard deviation over the repetitions. The default scheduler ignores the weight: "
            + "its runs at every weight form one baseline.</p>\n"
        if summary.baseline == nil {
            page += "<p class=\"note\">No runs of the default scheduler: nothing to compare against.</p>\n"
        }
        if summary.hasSimulatedRuns {
            page +=
                "<p class=\"note simulated\" id=\"simulated\">Rows marked <span class=\"sim\">simulated</span> come from "
                + "<code>workflow --simulate</code>: an offline cluster whose plugs draw the knowledge base's power while "
                + "a phase runs for its work over the knowledge base's rate. Their durations are simulated seconds; they "
                + "are compared with simulated runs only.</p>\n"
        }
        let backfilled = summary.backfilled
        if backfilled.phases > 0 {
            page +=
                "<p class=\"note\" id=\"backfilled\">\(backfilled.phases) phase\(backfilled.phases == 1 ? "" : "s") "
                + String(format: "include %.0f J", backfilled.joules)
                + " that the plugs' own counters recorded while the monitor had no samples (backfilled, column "
                + "<code>BackfilledJoules</code>): their energy is complete.</p>\n"
        }
        page +=
            "<h2>Per workflow</h2>\n<table id=\"workflows\"><tr><th class=\"l\">scheduler</th><th>weight</th><th>runs</th>"
            + "<th>duration (s)</th><th>energy (J)</th><th>energy saved</th><th>time lost</th></tr>\n"
        for group in summary.groups {
            page +=
                "<tr data-group=\"\(e(group.id))\"><td class=\"l\">\(group.scheduler.rawValue)\(Self.simulatedMark(group))</td><td>\(group.weight.map(WorkflowRun.weightText) ?? "all")</td>"
                + "<td>\(group.runs.count)</td><td>\(Self.statistic(group.duration, 0))</td><td>\(Self.statistic(group.joules, 0))</td>"
                + "<td>\(Self.percent(summary.energySavedPercent(group), goodWhenPositive: true))</td>"
                + "<td>\(Self.percent(summary.timeLostPercent(group), goodWhenPositive: false))</td></tr>\n"
        }
        page += "</table>\n" + footprint(summary)
        page +=
            "<h2>Per phase</h2>\n<table id=\"phases\"><tr><th class=\"l\">scheduler</th><th>weight</th><th class=\"l\">phase</th>"
            + "<th class=\"l\">ran on</th><th>duration (s)</th><th>energy (J)</th><th>above idle (J)</th></tr>\n"
        for group in summary.groups {
            for phase in group.phases {
                let nodes = phase.nodes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map {
                    "\(e($0.key)) ×\($0.value)"
                }
                page +=
                    "<tr><td class=\"l\">\(group.scheduler.rawValue)\(Self.simulatedMark(group))</td><td>\(group.weight.map(WorkflowRun.weightText) ?? "all")</td>"
                    + "<td class=\"l\">\(e(phase.phase))</td><td class=\"l\">\(nodes.joined(separator: ", "))</td>"
                    + "<td>\(Self.statistic(phase.duration, 0))</td><td>\(Self.statistic(phase.joules, 0))</td>"
                    + "<td>\(phase.idleJoules.values.isEmpty ? "–" : Self.statistic(phase.idleJoules, 0))</td></tr>\n"
            }
        }
        page +=
            "</table>\n<h2>Energy against duration</h2>\n<figure id=\"scatter\">" + SVGChart.scatter(summary)
            + "<figcaption>Each small point is one run, the large points the means per scheduler and weight; "
            + "down and to the left is better.</figcaption></figure>\n"
        page +=
            "<h2>Energy per phase</h2>\n<figure id=\"stacked\">" + SVGChart.stacked(summary)
            + "<figcaption>Mean joules of each phase, stacked to the workflow's total.</figcaption></figure>\n"
        let formatter = ISO8601DateFormatter()
        page +=
            "<p class=\"note\">Generated \(formatter.string(from: generated)) by energy-monitor workflow report.</p>\n</body></html>\n"
        return page
    }

    /// The emissions and cost per scheduler and weight, with the saving against the baseline
    /// and its spread over the repetitions; a note instead when no run has them.
    static func footprint(_ summary: ExperimentSummary) -> String {
        let e = SVGChart.escape
        guard summary.hasFootprint else {
            return "<p class=\"note\" id=\"no-footprint\">No emissions or cost: the rows were recorded without a "
                + "<code>carbon:</code> or <code>price:</code> (<code>workflow run --config FILE</code>).</p>\n"
        }
        var page =
            "<h2>Emissions and cost</h2>\n<p class=\"note\">Each phase's energy at the carbon intensity and price in "
            + "force minute by minute. Saving: the baseline's mean minus this group's (positive: less), ± the spread of "
            + "that difference over the repetitions (√(s₁²/n₁ + s₂²/n₂)).</p>\n"
            + "<table id=\"footprint\"><tr><th class=\"l\">scheduler</th><th>weight</th><th>runs</th><th>energy (kWh)</th>"
            + "<th>energy saved</th><th>CO2e (g)</th><th>CO2e saved</th><th>cost</th><th>cost saved</th></tr>\n"
        for group in summary.groups {
            let currency = group.currency.map { " " + e($0) } ?? ""
            page +=
                "<tr data-group=\"\(e(group.id))\"><td class=\"l\">\(group.scheduler.rawValue)\(Self.simulatedMark(group))</td>"
                + "<td>\(group.weight.map(WorkflowRun.weightText) ?? "all")</td><td>\(group.runs.count)</td>"
                + "<td class=\"kwh\">\(Self.statistic(group.kwh, 4))</td>"
                + "<td>\(Self.saving(summary.saving(group, \.kwh), 4, unit: " kWh"))</td>"
                + "<td class=\"co2\">\(Self.statistic(group.gramsCO2e, 1))</td>"
                + "<td class=\"co2-saved\">\(Self.saving(summary.saving(group, \.gramsCO2e), 1, unit: " g"))</td>"
                + "<td class=\"cost\">\(group.cost.values.isEmpty ? "–" : Self.statistic(group.cost, 4) + currency)</td>"
                + "<td>\(Self.saving(summary.saving(group, \.cost), 4, unit: currency))</td></tr>\n"
        }
        return page + "</table>\n"
    }

    /// `+12.3 g ± 4.0 (+5.1 %)`, coloured good when positive; `–` without a saving.
    static func saving(_ saving: ExperimentSummary.Saving?, _ digits: Int, unit: String) -> String {
        guard let saving else { return "–" }
        let spread = saving.spread.map { " ± " + String(format: "%.\(digits)f", $0) } ?? ""
        return "<span class=\"\(abs(saving.percent) < 0.05 ? "" : (saving.amount > 0 ? "good" : "bad"))\">"
            + String(format: "%+.\(digits)f", saving.amount) + unit + spread
            + String(format: " (%+.1f %%)", saving.percent)
            + "</span>"
    }

    static func simulatedMark(_ group: ExperimentSummary.Group) -> String {
        group.simulated ? " <span class=\"sim\">simulated</span>" : ""
    }

    static func statistic(_ statistic: ExperimentSummary.Statistic, _ digits: Int) -> String {
        guard !statistic.values.isEmpty else { return "–" }
        let mean = String(format: "%.\(digits)f", statistic.mean)
        return statistic.deviation.map { mean + " ± " + String(format: "%.\(digits)f", $0) } ?? mean
    }

    static func percent(_ value: Double?, goodWhenPositive: Bool) -> String {
        guard let value else { return "–" }
        let good = goodWhenPositive ? value > 0 : value < 0
        return "<span class=\"\(abs(value) < 0.05 ? "" : (good ? "good" : "bad"))\">"
            + String(format: "%+.1f %%", value) + "</span>"
    }
}
