import CurlClient
import Foundation
import Logging

/// A small client for the Kubernetes API over libcurl: JSON merge patches of node
/// annotations, GETs, POSTs, DELETEs (`KubernetesClient+Requests.swift`), lists in pages
/// (`KubernetesClient+List.swift`) and watch streams (`KubernetesClient+Watch.swift`).
/// Bearer tokens from files are re-read every `tokenRefreshInterval` and after a 401, exec
/// plugins run again after a 401; the request is then retried once.
public final class KubernetesClient: NodeAnnotationPatching {
    /// The connection in use.
    public let connection: KubernetesConnection
    let http: CurlMultiClient
    let credentials: CredentialSource
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
        self.credentials = CredentialSource(credentials: connection.credentials, refreshInterval: tokenRefreshInterval)
        self.timeoutMilliseconds = timeoutMilliseconds
        self.userAgent = userAgent
        self.logger = logger
    }

    private init(_ other: KubernetesClient, connection: KubernetesConnection) {
        self.connection = connection
        self.http = other.http
        self.credentials = other.credentials
        self.timeoutMilliseconds = other.timeoutMilliseconds
        self.userAgent = other.userAgent
        self.logger = other.logger
    }

    /// This client acting as another user (impersonation headers), with the same connection
    /// and credentials: what `kubectl --as` does. The credentials' account needs RBAC's
    /// `impersonate` verb.
    public func impersonating(_ impersonation: Impersonation) -> KubernetesClient {
        var connection = self.connection
        connection.impersonation = impersonation
        return KubernetesClient(self, connection: connection)
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
            return error.failure
        }
    }

    /// `GET path` (e.g. `/api/v1/namespaces/kube-system/configmaps/x`): the body of a 2xx
    /// response, else a `KubernetesRequestError` classified like a patch failure.
    public func get(path: String) async throws(KubernetesRequestError) -> [UInt8] {
        try await request(method: "GET", path: path, headers: [], body: nil)
    }

    /// `GET path` of a response that may be larger than an object (a service's `/metrics`
    /// through the API server's proxy).
    public func get(path: String, maxResponseBytes: Int) async throws(KubernetesRequestError) -> [UInt8] {
        switch await send(method: "GET", path: path, headers: [], body: nil, maxResponseBytes: maxResponseBytes) {
        case .success(let response) where (200..<300).contains(response.status):
            return response.body
        case .success(let response):
            throw KubernetesRequestError(failure: Self.classify(response))
        case .failure(let error):
            throw error
        }
    }

    /// Sends one request: the body of a 2xx response, else a `KubernetesRequestError`.
    func request(method: String, path: String, headers: [String], body: [UInt8]?) async throws(KubernetesRequestError) -> [UInt8] {
        switch await send(method: method, path: path, headers: headers, body: body) {
        case .success(let response) where (200..<300).contains(response.status):
            return response.body
        case .success(let response):
            throw KubernetesRequestError(failure: Self.classify(response))
        case .failure(let error):
            throw error
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

    /// Sends once, and once more with fresh credentials after a 401 when they can be renewed.
    func send(
        method: String, path: String, headers: [String], body: [UInt8]?, timeoutMilliseconds: Int? = nil,
        maxResponseBytes: Int = KubernetesClient.maxResponseBytes
    ) async -> Result<HTTPResponse, KubernetesRequestError> {
        var attempt = 0
        while true {
            attempt += 1
            let credential: RequestCredential
            do {
                credential = try await credentials.current()
            } catch {
                return .failure(error)
            }
            var request = makeRequest(
                method: method, path: path, headers: headers, body: body, credential: credential,
                timeoutMilliseconds: timeoutMilliseconds)
            request.maxResponseBytes = maxResponseBytes
            let response: HTTPResponse
            do {
                response = try await http.perform(request)
            } catch let error as HTTPClientError {
                return .failure(KubernetesRequestError(failure: .transport(error)))
            } catch {
                return .failure(KubernetesRequestError(failure: .transport(.transport("\(error)"))))
            }
            if response.status == 401, attempt == 1, credentials.isRenewable {
                logger.debug(
                    "API server answered 401; fetching the credentials again",
                    metadata: ["path": "\(path)", "credentials": "\(connection.credentials)"])
                credentials.invalidate(after: credential)
                continue
            }
            return .success(response)
        }
    }

    /// The largest response to a request that is not a list page: an object is at most
    /// 1.5 MiB in etcd.
    static let maxResponseBytes = 4 << 20

    /// The HTTP request for `path` on this connection, with `credential`, the impersonation
    /// headers, the TLS server name and the proxy of the kubeconfig.
    func makeRequest(
        method: String, path: String, headers: [String], body: [UInt8]?, credential: RequestCredential,
        timeoutMilliseconds: Int? = nil
    ) -> HTTPRequest {
        var tls = connection.tls
        if let certificate = credential.clientCertificatePEM, let key = credential.clientKeyPEM {
            tls.clientCertificateFile = nil
            tls.clientKeyFile = nil
            tls.clientCertificatePEM = certificate
            tls.clientKeyPEM = key
        }
        return HTTPRequest(
            url: connection.server + path,
            method: method,
            headers: headers + ["Accept: application/json", "User-Agent: \(userAgent)"]
                + (connection.impersonation?.headers ?? []),
            body: body,
            authentication: credential.token.map { HTTPAuthentication.bearer(token: $0) },
            tls: tls,
            timeoutMilliseconds: timeoutMilliseconds ?? self.timeoutMilliseconds,
            maxResponseBytes: Self.maxResponseBytes,
            proxy: connection.proxyURL.map(Self.curlProxy)
        )
    }

    /// `proxy-url` as libcurl takes it. Go's SOCKS5 dialer hands the host name to the proxy,
    /// which resolves it: libcurl calls that `socks5h`.
    static func curlProxy(_ url: String) -> String {
        url.lowercased().hasPrefix("socks5://") ? "socks5h://" + url.dropFirst("socks5://".count) : url
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
        case .ok, .transport, .credentials: nil
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
