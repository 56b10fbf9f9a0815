import Foundation

/// The two plots of the report as inline SVG: energy against duration (one point per run,
/// a larger one per group mean), and joules per phase stacked per group. Plain SVG 1.1, no
/// script, no fonts beyond the page's: the report opens offline in any browser.
enum SVGChart {
    static let palette = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4", "#b15928", "#6a3d9a",
    ]
    static let baselineColor = "#555555"

    /// The colour of a group: grey for the baseline, else by position among the energy groups.
    static func color(of group: ExperimentSummary.Group, in summary: ExperimentSummary) -> String {
        guard group.scheduler == .energy else { return baselineColor }
        let index = summary.groups.filter { $0.scheduler == .energy }.firstIndex { $0.id == group.id } ?? 0
        return palette[index % palette.count]
    }

    /// Energy (kJ, y) against duration (s, x) per run, group means larger and labelled.
    static func scatter(_ summary: ExperimentSummary, chartWidth: Double = 760, chartHeight: Double = 440) -> String {
        let (width, height) = (chartWidth, chartHeight)
        let margin = (left: 70.0, right: 20.0, top: 20.0, bottom: 50.0)
        let points = summary.groups.flatMap { group in group.runs.map { ($0.seconds, $0.joules / 1000) } }
        guard !points.isEmpty else { return empty(chartWidth: width, chartHeight: height, "no complete runs") }
        let xs = axis(points.map(\.0))
        let ys = axis(points.map(\.1))
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func x(_ value: Double) -> Double {
            margin.left + (value - xs.lowerBound) / (xs.upperBound - xs.lowerBound) * plotWidth
        }
        func y(_ value: Double) -> Double {
            margin.top + plotHeight - (value - ys.lowerBound) / (ys.upperBound - ys.lowerBound) * plotHeight
        }
        var svg = header(chartWidth: width, chartHeight: height, label: "Energy against duration per run")
        svg += frame(x: margin.left, y: margin.top, frameWidth: plotWidth, frameHeight: plotHeight)
        svg += ticks(xs, horizontal: true) { x($0) }.map { tick in
            line(tick.tickPosition, margin.top + plotHeight, tick.tickPosition, margin.top + plotHeight + 5)
                + text(tick.tickPosition, margin.top + plotHeight + 18, tick.label, anchor: "middle")
        }.joined()
        svg += ticks(ys, horizontal: false) { y($0) }.map { tick in
            line(margin.left - 5, tick.tickPosition, margin.left, tick.tickPosition)
                + text(margin.left - 8, tick.tickPosition + 4, tick.label, anchor: "end")
                + "<line x1=\"\(f(margin.left))\" y1=\"\(f(tick.tickPosition))\" x2=\"\(f(margin.left + plotWidth))\" y2=\"\(f(tick.tickPosition))\" stroke=\"#eee\"/>"
        }.joined()
        svg += text(margin.left + plotWidth / 2, height - 10, "workflow duration (s)", anchor: "middle")
        svg +=
            "<text x=\"16\" y=\"\(f(margin.top + plotHeight / 2))\" transform=\"rotate(-90 16 \(f(margin.top + plotHeight / 2)))\" text-anchor=\"middle\" font-size=\"12\">energy (kJ)</text>"
        for group in summary.groups {
            let color = color(of: group, in: summary)
            for run in group.runs {
                svg +=
                    "<circle cx=\"\(f(x(run.seconds)))\" cy=\"\(f(y(run.joules / 1000)))\" r=\"3.5\" fill=\"\(color)\" fill-opacity=\"0.45\"/>"
            }
            let cx = x(group.duration.mean)
            let cy = y(group.joules.mean / 1000)
            svg +=
                "<g class=\"mean\" data-group=\"\(escape(group.id))\"><circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"7\" fill=\"\(color)\" stroke=\"#000\"/>"
            svg +=
                text(
                    cx + 10, cy - 8, group.weight.map { "w=\(WorkflowRun.weightText($0))" } ?? "standard",
                    anchor: "start") + "</g>"
        }
        return svg + "</svg>"
    }

    /// Mean joules per phase, stacked, one bar per group.
    static func stacked(_ summary: ExperimentSummary, chartWidth: Double = 760, chartHeight: Double = 420) -> String {
        let (width, height) = (chartWidth, chartHeight)
        let margin = (left: 70.0, right: 150.0, top: 20.0, bottom: 70.0)
        guard !summary.groups.isEmpty else { return empty(chartWidth: width, chartHeight: height, "no complete runs") }
        let totals = summary.groups.map { group in group.phases.reduce(0) { $0 + $1.joules.mean } / 1000 }
        let ys = axis(totals + [0])
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func y(_ value: Double) -> Double {
            margin.top + plotHeight - (value - ys.lowerBound) / (ys.upperBound - ys.lowerBound) * plotHeight
        }
        var svg = header(
            chartWidth: width, chartHeight: height, label: "Joules per phase, stacked, per scheduler and weight")
        svg += frame(x: margin.left, y: margin.top, frameWidth: plotWidth, frameHeight: plotHeight)
        svg += ticks(ys, horizontal: false) { y($0) }.map { tick in
            line(margin.left - 5, tick.tickPosition, margin.left, tick.tickPosition)
                + text(margin.left - 8, tick.tickPosition + 4, tick.label, anchor: "end")
        }.joined()
        svg +=
            "<text x=\"16\" y=\"\(f(margin.top + plotHeight / 2))\" transform=\"rotate(-90 16 \(f(margin.top + plotHeight / 2)))\" text-anchor=\"middle\" font-size=\"12\">energy (kJ, mean)</text>"
        let slot = plotWidth / Double(summary.groups.count)
        let barWidth = min(60, slot * 0.6)
        for (index, group) in summary.groups.enumerated() {
            let left = margin.left + slot * (Double(index) + 0.5) - barWidth / 2
            var base = 0.0
            for (phaseIndex, phase) in group.phases.enumerated() {
                let value = phase.joules.mean / 1000
                guard value > 0 else { continue }
                let top = y(base + value)
                let bottom = y(base)
                svg +=
                    "<rect class=\"segment\" x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(barWidth))\" height=\"\(f(max(0.5, bottom - top)))\" "
                    + "fill=\"\(palette[phaseIndex % palette.count])\"><title>\(escape(group.title)): \(escape(phase.phase)) \(String(format: "%.1f", value)) kJ</title></rect>"
                base += value
            }
            let labelX = left + barWidth / 2
            let labelY = margin.top + plotHeight + 16
            svg += text(
                labelX, labelY, group.weight.map { "w=\(WorkflowRun.weightText($0))" } ?? "standard", anchor: "middle")
            svg += text(labelX, labelY + 14, group.scheduler.rawValue, anchor: "middle")
        }
        for (phaseIndex, phase) in summary.phases.enumerated() {
            let top = margin.top + Double(phaseIndex) * 20
            svg +=
                "<rect x=\"\(f(width - margin.right + 15))\" y=\"\(f(top))\" width=\"12\" height=\"12\" fill=\"\(palette[phaseIndex % palette.count])\"/>"
            svg += text(width - margin.right + 32, top + 10, phase, anchor: "start")
        }
        return svg + "</svg>"
    }

    // MARK: - Pieces

    /// A rounded axis range covering `values`.
    static func axis(_ values: [Double]) -> ClosedRange<Double> {
        let low = values.min() ?? 0
        let high = values.max() ?? 1
        if high - low < 1e-9 {
            let pad = max(abs(high) * 0.1, 1)
            return max(0, low - pad)...(high + pad)
        }
        let pad = (high - low) * 0.08
        return max(0, low - pad)...(high + pad)
    }

    static func ticks(_ range: ClosedRange<Double>, horizontal: Bool, position: (Double) -> Double) -> [(
        tickPosition: Double, label: String
    )] {
        let span = range.upperBound - range.lowerBound
        let raw = span / 5
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [(Double, String)] = []
        var value = (range.lowerBound / step).rounded(.up) * step
        while value <= range.upperBound + step * 1e-9, ticks.count < 20 {
            let label =
                step >= 1
                ? String(format: "%.0f", value)
                : String(format: "%.\(max(0, Int(clampingRounding: -log10(step), .up)))f", value)
            ticks.append((position(value), label))
            value += step
        }
        return ticks
    }

    static func header(chartWidth: Double, chartHeight: Double, label: String) -> String {
        let (width, height) = (chartWidth, chartHeight)
        return
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" aria-label=\"\(escape(label))\" font-family=\"sans-serif\">"
    }

    static func frame(x: Double, y: Double, frameWidth: Double, frameHeight: Double) -> String {
        "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(frameWidth))\" height=\"\(f(frameHeight))\" fill=\"#fff\" stroke=\"#999\"/>"
    }

    static func empty(chartWidth: Double, chartHeight: Double, _ message: String) -> String {
        let (width, height) = (chartWidth, chartHeight)
        return header(chartWidth: width, chartHeight: height, label: message)
            + text(width / 2, height / 2, message, anchor: "middle") + "</svg>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) -> String {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"#999\"/>"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" font-size=\"12\">\(escape(content))</text>"
    }

    static func f(_ value: Double) -> String { value.isFinite ? String(format: "%.1f", value) : "0" }

    /// Text for HTML and SVG: `&`, `<`, `>`, quotes escaped.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }
}
