import ArgumentParser
import CurlClient
import EnergyModel

/// `energy-monitor healthcheck`: one GET with a short timeout, exit 0 on a 2xx answer. The
/// container image has no curl binary (only libcurl), so its `HEALTHCHECK` runs this.
struct HealthcheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Exit 0 if the URL answers 2xx within the timeout (for container health checks)."
    )

    @Option(name: .long, help: "The URL to ask.")
    var url: String = "http://127.0.0.1:9840/healthz"

    @Option(name: .long, help: "Timeout in seconds.")
    var timeout: Double = 3

    func validate() throws {
        _ = try CommandSupport.seconds(timeout, option: "--timeout", range: 0.001...60)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ValidationError("--url: must start with http:// or https://")
        }
    }

    func run() async throws {
        let client = CurlMultiClient()
        defer { client.shutdown() }
        let response: HTTPResponse
        do {
            response = try await client.perform(
                HTTPRequest(url: url, timeoutMilliseconds: Int(clampingRounding: timeout * 1000), maxResponseBytes: 64 << 10)
            )
        } catch {
            throw CommandFailure("\(url): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            let body = String(decoding: response.body.prefix(200), as: UTF8.self).split(separator: "\n").first ?? ""
            throw CommandFailure("\(url): HTTP \(response.status) \(body)")
        }
    }
}
