import CurlClient
import EnergyModel
import JSON

/// The Electricity Maps API's carbon intensity of one zone: `GET /v3/carbon-intensity/latest`
/// and `GET /v3/carbon-intensity/history` (the last 24 hours), with the token in the
/// `auth-token` header. Each entry (`{"zone","carbonIntensity","datetime","updatedAt",...}`)
/// is the intensity in g CO2e/kWh of the hour starting at `datetime`; an entry whose
/// `carbonIntensity` is null (no data for that hour) is left out.
struct ElectricityMapsClient: Sendable {
    /// Why a request gave no intensities: the result label it is counted under, and one line.
    struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The label of `energy_monitor_grid_intensity_requests_total{result}`.
        enum Kind: String, Sendable, CaseIterable {
            case ok, auth
            case notFound = "not_found"
            case throttled, server, transport, parse
        }
        var kind: Kind
        /// For `throttled`: the seconds the API asked to wait (`Retry-After`), if it said.
        var retryAfterSeconds: Double?
        var message: String
        var description: String { message }
    }

    /// Which endpoint.
    enum Endpoint: String, Sendable, CaseIterable {
        case latest, history
    }

    let settings: ElectricityMapsSettings
    let client: CurlMultiClient
    /// Per request: the API answers in well under a second; an hourly poll can wait.
    static let timeoutMilliseconds = 15_000
    /// A day of hourly entries is some 6 KiB.
    static let maxResponseBytes = 1 << 20

    /// The intensities of `endpoint`, oldest first.
    func fetch(_ endpoint: Endpoint) async throws(Failure) -> [StepSeries.Step] {
        let url = "\(settings.url)/v3/carbon-intensity/\(endpoint.rawValue)?zone=\(settings.zone)"
        let request = HTTPRequest(
            url: url, headers: ["auth-token: \(settings.token)", "Accept: application/json"],
            timeoutMilliseconds: Self.timeoutMilliseconds, maxResponseBytes: Self.maxResponseBytes)
        let response: HTTPResponse
        do {
            response = try await client.perform(request)
        } catch {
            throw Failure(kind: .transport, message: "\(endpoint.rawValue): \("\(error)".foldedToOneLine())")
        }
        try Self.check(response, endpoint: endpoint)
        return try Self.parse(response.body, endpoint: endpoint, zone: settings.zone)
    }

    /// Refuses a status other than 200 with its kind: 401/403 (token refused), 404 (zone
    /// unknown), 429 (with its `Retry-After`), 5xx; the API's error message where it gave one.
    static func check(_ response: HTTPResponse, endpoint: Endpoint) throws(Failure) {
        guard response.status != 200 else { return }
        let said = JSONValue.parse(response.body).flatMap { $0["message"]?.string ?? $0["error"]?.string }
        let detail = said.map { ": \($0.foldedToOneLine(limit: 160))" } ?? ""
        let prefix = "\(endpoint.rawValue): HTTP \(response.status)"
        switch response.status {
        case 401, 403:
            throw Failure(kind: .auth, message: "\(prefix) (the token was refused)\(detail)")
        case 404:
            throw Failure(kind: .notFound, message: "\(prefix) (zone or endpoint unknown)\(detail)")
        case 429:
            let seconds = response.header("Retry-After").flatMap { Double($0.trimmingSpaces()) }.flatMap {
                $0.isFinite && $0 >= 0 ? $0 : nil
            }
            throw Failure(kind: .throttled, retryAfterSeconds: seconds, message: "\(prefix) (rate limited)\(detail)")
        case 500...599:
            throw Failure(kind: .server, message: "\(prefix)\(detail)")
        default:
            throw Failure(kind: .server, message: "\(prefix) (unexpected)\(detail)")
        }
    }

    /// The entries of a latest (one object) or history (`{"history":[...]}`) answer.
    static func parse(_ body: [UInt8], endpoint: Endpoint, zone: String) throws(Failure) -> [StepSeries.Step] {
        guard let root = JSONValue.parse(body), root.object != nil else {
            throw Failure(kind: .parse, message: "\(endpoint.rawValue): the answer is not a JSON object")
        }
        let entries: [JSONValue]
        switch endpoint {
        case .latest: entries = [root]
        case .history:
            guard let list = root["history"]?.array else {
                throw Failure(kind: .parse, message: "history: the answer has no history list")
            }
            entries = list
        }
        var steps: [StepSeries.Step] = []
        for entry in entries {
            if let other = entry["zone"]?.string, other != zone {
                throw Failure(kind: .parse, message: "\(endpoint.rawValue): an entry of zone \(other), not \(zone)")
            }
            guard let text = entry["datetime"]?.string, text.first?.isNumber == true,
                let time = try? TimeParsing.milliseconds(text, nowMilliseconds: 0)
            else {
                throw Failure(kind: .parse, message: "\(endpoint.rawValue): an entry without a datetime")
            }
            guard let value = entry["carbonIntensity"], !value.isNull else { continue }
            guard let grams = value.number, grams.isFinite, grams >= 0, grams <= 10_000 else {
                throw Failure(
                    kind: .parse, message: "\(endpoint.rawValue): carbonIntensity \(value) is not a g/kWh figure")
            }
            steps.append(StepSeries.Step(startMilliseconds: time, value: grams))
        }
        guard endpoint == .history || !steps.isEmpty || root["carbonIntensity"]?.isNull == true else {
            throw Failure(kind: .parse, message: "latest: the answer has no carbonIntensity")
        }
        return steps.sorted { $0.startMilliseconds < $1.startMilliseconds }
    }
}
