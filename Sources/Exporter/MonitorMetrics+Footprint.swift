import EnergyModel
import Prometheus

extension MonitorMetrics {
    /// `energy_monitor_grid_carbon_intensity_grams_per_kwh` (while an intensity is in force),
    /// `energy_monitor_emissions_grams_total{node}` (with `carbon:`) and
    /// `energy_monitor_cost_total{node,currency}` (with `price:`).
    static func emitFootprint(_ rates: FootprintRates, _ series: [NodeSeries], into buffer: inout [UInt8]) {
        if let intensity = rates.intensity {
            if let grams = intensity.value(at: WallClock.nowMilliseconds()) {
                let name = "energy_monitor_grid_carbon_intensity_grams_per_kwh"
                NodeSeries.header(
                    name, "gauge", "Carbon intensity of the grid in force now, grams of CO2-equivalent per kWh.",
                    into: &buffer)
                buffer.append(contentsOf: "\(name) \(grams)\n".utf8)
            }
            let name = "energy_monitor_emissions_grams_total"
            NodeSeries.header(
                name, "counter",
                "Emissions of the node's energy, grams of CO2-equivalent, each joule at the intensity in force.",
                into: &buffer)
            for node in series { NodeSeries.line(name, node.labels, counter: node.emissionsGrams, into: &buffer) }
        }
        if let tariff = rates.tariff {
            let name = "energy_monitor_cost_total"
            NodeSeries.header(
                name, "counter", "Cost of the node's energy, each joule at the price in force.", into: &buffer)
            let currency = NodeSeries.labelPart("currency", tariff.currency)
            for node in series { NodeSeries.line(name, node.labels + currency, counter: node.cost, into: &buffer) }
        }
    }
}

extension MonitorMetrics {
    /// Registers `energy_monitor_grid_intensity_requests_total{endpoint,result}` with every
    /// pair of `endpoints` and `results` at 0, and returns what counts one request.
    public func makeGridIntensityCounters(endpoints: [String], results: [String]) -> @Sendable (String, String) -> Void
    {
        var counters: [String: Counter] = [:]
        for endpoint in endpoints {
            for result in results {
                counters[endpoint + "/" + result] = registry.makeCounter(
                    descriptor: MetricNameDescriptor(
                        metricName: "energy_monitor_grid_intensity_requests_total", unitName: "",
                        helpText:
                            "Requests to the Electricity Maps API for the grid's carbon intensity, by endpoint and result."
                    ),
                    labels: [("endpoint", endpoint), ("result", result)])
            }
        }
        return { [counters] endpoint, result in counters[endpoint + "/" + result]?.increment() }
    }
}
