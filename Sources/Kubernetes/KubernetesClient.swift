import CurlClient
import Foundation
import Logging

/// A small client for the Kubernetes API over libcurl: JSON merge patches of node
/// annotations, GETs, POSTs, DELETEs (`KubernetesClient+Requests.swift`) and watch streams
/// (`KubernetesClient+Watch.swift`). Bearer tokens from files are re-read every
/// `tokenRefreshInterval` and after a 401, after which the request is retried once.
public final class KubernetesClient: NodeAnnotationPatching {
    /// The connection in use.
    public let connection: KubernetesConnection
    let http: CurlMultiClient
    let tokens: TokenSource
    let timeoutMilliseconds: Int
    let userAgent: String
    let logger: Logger

    /// Creates a client sending through `http`. `timeoutMilliseconds` bounds each request;
    /// `tokenRefreshInterval` is how old a token read from a file may get (at most a minute,
    /// as the kubelet rotates service-account tokens well before they expire).
    public init(
        connection: KubernetesConnection,
        http: CurlMultiClient,
        logger: Logger,
        timeoutMilliseconds: Int = 5000,
        tokenRefreshInterval: Duration = .seconds(60),
        userAgent: String = "energy-monitor"
    ) {
        self.connection = connection
        self.http = http
        self.tokens = TokenSource(credentials: connection.credentials, refreshInterval: tokenRefreshInterval)
        self.timeoutMilliseconds = timeoutMilliseconds
        self.userAgent = userAgent
        self.logger = logger
    }

    /// `PATCH /api/v1/nodes/NODE` with `{"metadata":{"annotations":{...}}}` as
    /// `application/merge-patch+json`: all keys land in one write, others are untouched.
    public func patchNodeAnnotations(node: String, annotations: [String: String]) async -> PatchOutcome {
        guard Self.isSafePathSegment(node) else {
            return .rejected(APIStatus(code: 0, reason: "Invalid", message: "\"\(node)\" is not a valid node name"))
        }
        let body = Self.mergePatchBody(annotations: annotations)
        let result = await send(
            method: "PATCH", path: "/api/v1/nodes/\(node)",
            headers: ["Content-Type: application/merge-patch+json"], body: body)
        switch result {
        case .success(let response) where (200..<300).contains(response.status):
            return .ok
        case .success(let response):
            return Self.classify(response)
        case .failure(let error):
            return .transport(error)
        }
    }

    /// `GET path` (e.g. `/api/v1/namespaces/kube-system/configmaps/x`): the body of a 2xx
    /// response, else a `KubernetesRequestError` classified like a patch failure.
    public func get(path: String) async throws(KubernetesRequestError) -> [UInt8] {
        try await request(method: "GET", path: path, headers: [], body: nil)
    }

    /// Sends one request: the body of a 2xx response, else a `KubernetesRequestError`.
    func request(method: String, path: String, headers: [String], body: [UInt8]?) async throws(KubernetesRequestError) -> [UInt8] {
        switch await send(method: method, path: path, headers: headers, body: body) {
        case .success(let response) where (200..<300).contains(response.status):
            return response.body
        case .success(let response):
            throw KubernetesRequestError(failure: Self.classify(response))
        case .failure(let error):
            throw KubernetesRequestError(failure: .transport(error))
        }
    }

    /// The merge-patch document with sorted keys: `{"metadata":{"annotations":{...}}}`.
    public static func mergePatchBody(annotations: [String: String]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let document = ["metadata": ["annotations": annotations]]
        // Encoding string dictionaries cannot fail.
        return (try? [UInt8](encoder.encode(document))) ?? []
    }

    /// Sends once, and once more with a freshly read token after a 401.
    func send(method: String, path: String, headers: [String], body: [UInt8]?) async -> Result<HTTPResponse, HTTPClientError> {
        var attempt = 0
        while true {
            attempt += 1
            let response: HTTPResponse
            do {
                response = try await http.perform(makeRequest(method: method, path: path, headers: headers, body: body))
            } catch let error as HTTPClientError {
                return .failure(error)
            } catch {
                return .failure(.transport("\(error)"))
            }
            if response.status == 401, attempt == 1, tokens.isRenewable {
                logger.debug("API server answered 401; reading the token file again", metadata: ["path": "\(path)"])
                tokens.invalidate()
                continue
            }
            return .success(response)
        }
    }

    /// The HTTP request for `path` on this connection, with the current token.
    func makeRequest(method: String, path: String, headers: [String], body: [UInt8]?, timeoutMilliseconds: Int? = nil) -> HTTPRequest {
        HTTPRequest(
            url: connection.server + path,
            method: method,
            headers: headers + ["Accept: application/json", "User-Agent: \(userAgent)"],
            body: body,
            authentication: tokens.current().map { HTTPAuthentication.bearer(token: $0) },
            tls: connection.tls,
            timeoutMilliseconds: timeoutMilliseconds ?? self.timeoutMilliseconds,
            maxResponseBytes: 4 << 20
        )
    }

    /// Sorts a non-2xx response into what the caller should do.
    static func classify(_ response: HTTPResponse) -> PatchOutcome {
        let status = APIStatus(code: response.status, body: response.body)
        switch response.status {
        case 401:
            return .unauthorized(status)
        case 429:
            return .throttled(status, retryAfterSeconds: response.header("Retry-After").flatMap { Self.retryAfterSeconds($0) })
        case 500...:
            return .unavailable(status)
        default:
            return .rejected(status)
        }
    }

    /// `Retry-After` as seconds: delta-seconds (what the API server sends) or an HTTP-date.
    static func retryAfterSeconds(_ value: String, now: Date = Date()) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        // delta-seconds are digits (RFC 9110); `0x10`, `nan` or `-5` are not.
        if !trimmed.isEmpty, trimmed.allSatisfy({ "0123456789.".contains($0) }) {
            guard let seconds = Double(trimmed), seconds.isFinite else { return nil }
            return seconds
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// Node names are DNS subdomains; anything else must not be spliced into a URL path.
    static func isSafePathSegment(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 253
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "." }
    }
}

/// A request that did not succeed, classified like `PatchOutcome`.
public struct KubernetesRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong (never `.ok`).
    public var failure: PatchOutcome

    /// Creates an error.
    public init(failure: PatchOutcome) {
        self.failure = failure
    }

    /// One line.
    public var description: String { failure.description }

    /// The API server's status, when it answered at all.
    public var status: APIStatus? {
        switch failure {
        case .ok, .transport: nil
        case .unauthorized(let status), .rejected(let status), .unavailable(let status), .throttled(let status, _): status
        }
    }

    /// `410 Gone`: the resource version asked for is older than the server keeps (a watch
    /// must list again), whether the server said so in the response or in a watch event.
    public var isGone: Bool { status?.code == 410 }

    /// `403 Forbidden`: RBAC does not allow the request.
    public var isForbidden: Bool { status?.code == 403 }

    /// `404 Not Found`.
    public var isNotFound: Bool { status?.code == 404 }
}
