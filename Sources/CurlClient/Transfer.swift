import CCurl

/// One easy handle and the state of the transfer it carries. Owned by the client's loop
/// thread: made there, configured there, called back there by libcurl, and reused there for
/// the next request (`curl_easy_reset` keeps the handle's allocations, drops its options).
final class Transfer {
    let easy: UnsafeMutableRawPointer
    /// The loop's shard (multi handle) the transfer was added to.
    var shard = 0
    private var continuation: UnsafeContinuation<HTTPResponse, any Error>?
    private var maxResponseBytes = 0
    private var maxHeaderBytes = 0
    private var body: [UInt8] = []
    /// The header lines of the latest response, raw; `HTTPResponse` parses them on demand.
    private var headerBytes: [UInt8] = []
    /// Header bytes of every response of this transfer so far, kept or not.
    private var receivedHeaderBytes = 0
    private var exceededLimit = false
    private var exceededHeaderLimit = false
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// The `CURLOPT_CONNECT_TO` entry of a request with a TLS server name.
    private var connectToList: UnsafeMutablePointer<curl_slist>?
    /// Where a 2xx body goes as it arrives, for `CurlMultiClient.stream`; nil collects it.
    private(set) var receiver: StreamReceiver?
    /// Whether this response's body streams: decided at its first byte, from the status.
    private var streamsBody: Bool?

    init() {
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        easy = handle
    }

    deinit {
        curl_easy_cleanup(easy)
        if let headerList { curl_slist_free_all(headerList) }
        if let connectToList { curl_slist_free_all(connectToList) }
    }

    /// Takes on `queued` and sets every option; returns an error for an option libcurl
    /// refuses, or `.timeout` when the request waited out its timeout in the queue (the
    /// caller then calls `fail`). `now` is `CLOCK_MONOTONIC` nanoseconds.
    func start(_ queued: QueuedRequest, now: UInt64) -> HTTPClientError? {
        continuation = queued.continuation
        receiver = queued.receiver
        streamsBody = nil
        let request = queued.request
        // The timeout runs from perform(), so time spent queued counts against it.
        let waitedMilliseconds = Int(clamping: (now &- min(now, queued.enqueuedNanoseconds)) / 1_000_000)
        let timeoutMilliseconds = request.timeoutMilliseconds - waitedMilliseconds
        guard timeoutMilliseconds > 0 else { return .timeout }
        maxResponseBytes = request.maxResponseBytes
        maxHeaderBytes = request.maxHeaderBytes
        receivedHeaderBytes = 0
        exceededLimit = false
        exceededHeaderLimit = false
        headerBytes.reserveCapacity(256)

        var failed: String?
        func check(_ code: CURLcode, _ what: String) {
            if code != CURLE_OK, failed == nil { failed = "\(what): \(String(cString: curl_easy_strerror(code)))" }
        }
        // A TLS server name: the URL names it (so that SNI and the certificate check use it),
        // CONNECT_TO sends the connection to the real address, and `Host` keeps naming that.
        var url = request.url
        var lines = request.headers
        if let serverName = request.tls.serverName, let route = URLHost.route(request.url, serverName: serverName) {
            url = route.url
            connectToList = curl_slist_append(connectToList, route.connectTo)
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_CONNECT_TO, connectToList), "connect to")
            lines.append("Host: \(route.host)")
        }
        check(ccurl_easy_setopt_pointer(easy, CURLOPT_URL, url), "url")
        check(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "nosignal")
        check(ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, timeoutMilliseconds), "timeout")
        check(
            ccurl_easy_setopt_long(
                easy, CURLOPT_CONNECTTIMEOUT_MS,
                min(timeoutMilliseconds, request.connectTimeoutMilliseconds ?? timeoutMilliseconds)),
            "connect timeout")
        check(ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0), "redirects")
        check(ccurl_easy_restrict_to_http(easy), "protocols")
        if let size = request.receiveBufferBytes {
            // Not checked: libcurl (7.88) refuses to resize the buffer of a reused handle that
            // still holds one (CURLE_BAD_FUNCTION_ARGUMENT); that handle keeps the buffer it
            // has, and the size only bounds each read, never the body.
            _ = ccurl_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, size)
        }
        if request.keepAlive {
            check(ccurl_easy_set_keepalive_close(easy), "keepalive")
            // The socket options apply to new sockets only: a watch never rides on a
            // connection a short request opened without them.
            check(ccurl_easy_setopt_long(easy, CURLOPT_FRESH_CONNECT, 1), "fresh connection")
        } else {
            check(ccurl_easy_set_abortive_close(easy), "linger")
        }
        if let seconds = request.idleTimeoutSeconds {
            check(ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1), "idle limit")
            check(ccurl_easy_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, max(1, seconds)), "idle time")
        }
        if let proxy = request.proxy {
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_PROXY, proxy), "proxy")
            if proxy.lowercased().hasPrefix("https://") { configureProxyTLS(request.tls, check) }
        }
        if URLHost.isNumericAddress(request.url) {
            // Nothing to resolve, so nothing can go stale: keep the entry libcurl makes for the
            // address forever. Otherwise every finished transfer prunes the multi handle's whole
            // DNS cache, one entry per host and port: O(plugs) per poll, O(plugs^2) per tick.
            check(ccurl_easy_setopt_long(easy, CURLOPT_DNS_CACHE_TIMEOUT, -1), "DNS cache timeout")
        }

        let context = Unmanaged.passUnretained(self).toOpaque()
        check(ccurl_easy_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, transferWrite), "write function")
        check(ccurl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context), "write data")
        check(ccurl_easy_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, transferHeader), "header function")
        check(ccurl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context), "header data")

        switch request.method {
        case "GET":
            break
        case "POST":
            check(ccurl_easy_setopt_long(easy, CURLOPT_POST, 1), "post")
        default:
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, request.method), "method")
        }
        if let body = request.body {
            check(ccurl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "body size")
            body.withUnsafeBytes { raw in
                check(ccurl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)), "body")
            }
            // No "Expect: 100-continue" round trip for small API bodies.
            lines.append("Expect:")
        }
        switch request.authentication {
        case .none:
            break
        case .basic(let user, let password):
            check(ccurl_easy_setopt_long(easy, CURLOPT_HTTPAUTH, ccurl_auth_basic), "auth")
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_USERNAME, user), "username")
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_PASSWORD, password), "password")
        case .digest(let user, let password):
            check(ccurl_easy_setopt_long(easy, CURLOPT_HTTPAUTH, ccurl_auth_digest), "auth")
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_USERNAME, user), "username")
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_PASSWORD, password), "password")
        case .bearer(let token):
            lines.append("Authorization: Bearer \(token)")
        }
        for line in lines {
            headerList = curl_slist_append(headerList, line)
        }
        if let headerList {
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, headerList), "headers")
        }
        configureTLS(request.tls, check)
        if let failed { return .transport(failed) }
        return nil
    }

    private func configureTLS(_ tls: TLSOptions, _ check: (CURLcode, String) -> Void) {
        // Set explicitly on every transfer: a reused handle must never inherit "insecure".
        if tls.insecureSkipVerify {
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0), "verify peer")
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0), "verify host")
        } else {
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1), "verify peer")
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2), "verify host")
        }
        if let file = tls.caFile { check(ccurl_easy_setopt_pointer(easy, CURLOPT_CAINFO, file), "CA file") }
        if let pem = tls.caPEM { setBlob(CURLOPT_CAINFO_BLOB, pem, check, "CA data") }
        if tls.hasOwnCA {
            // The given CA replaces the system's: the CA bundle is replaced by the options
            // above, and the CA directory (Debian's libcurl defaults to /etc/ssl/certs) must
            // go too, or any public CA could vouch for a cluster's API server.
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_CAPATH, nil), "CA path")
        }
        if let file = tls.clientCertificateFile {
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_SSLCERT, file), "client certificate")
        }
        if let pem = tls.clientCertificatePEM { setBlob(CURLOPT_SSLCERT_BLOB, pem, check, "client certificate data") }
        if let file = tls.clientKeyFile { check(ccurl_easy_setopt_pointer(easy, CURLOPT_SSLKEY, file), "client key") }
        if let pem = tls.clientKeyPEM { setBlob(CURLOPT_SSLKEY_BLOB, pem, check, "client key data") }
    }

    /// An `https://` proxy is verified as Go's transport verifies it: with the same TLS
    /// settings as the server (the cluster CA when one is given, else the system's).
    private func configureProxyTLS(_ tls: TLSOptions, _ check: (CURLcode, String) -> Void) {
        let verify = tls.insecureSkipVerify ? 0 : 1
        check(ccurl_easy_setopt_long(easy, CURLOPT_PROXY_SSL_VERIFYPEER, verify), "proxy verify peer")
        check(ccurl_easy_setopt_long(easy, CURLOPT_PROXY_SSL_VERIFYHOST, verify * 2), "proxy verify host")
        if let file = tls.caFile { check(ccurl_easy_setopt_pointer(easy, CURLOPT_PROXY_CAINFO, file), "proxy CA file") }
        if let pem = tls.caPEM { setBlob(CURLOPT_PROXY_CAINFO_BLOB, pem, check, "proxy CA data") }
        if tls.hasOwnCA { check(ccurl_easy_setopt_pointer(easy, CURLOPT_PROXY_CAPATH, nil), "proxy CA path") }
    }

    private func setBlob(_ option: CURLoption, _ bytes: [UInt8], _ check: (CURLcode, String) -> Void, _ what: String) {
        var copy = bytes
        copy.withUnsafeMutableBytes { raw in
            var blob = curl_blob(data: raw.baseAddress, len: raw.count, flags: ccurl_blob_copy)
            withUnsafePointer(to: &blob) { pointer in
                check(ccurl_easy_setopt_pointer(easy, option, pointer), what)
            }
        }
    }

    fileprivate func appendBody(_ data: UnsafeRawBufferPointer) -> Bool {
        if let receiver {
            // Returning false aborts the transfer (CURLE_WRITE_ERROR), reported as cancelled.
            if receiver.isCancelled { return false }
            if streamsBody == nil {
                var status = 0
                ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                streamsBody = (200..<300).contains(status)
            }
            if streamsBody == true {
                receiver.deliver([UInt8](data))
                return true
            }
        }
        if body.count + data.count > maxResponseBytes {
            exceededLimit = true
            return false
        }
        body.append(contentsOf: data)
        return true
    }

    fileprivate func appendHeader(_ line: UnsafeRawBufferPointer) -> Bool {
        // Counted over all responses, so that endless interim answers cannot grow it either.
        receivedHeaderBytes += line.count
        if receivedHeaderBytes > maxHeaderBytes {
            exceededHeaderLimit = true
            return false
        }
        // A new response (after a 401 challenge or a 100 Continue): keep only the last one's
        // fields. The status line itself is not a field.
        if line.starts(with: "HTTP/".utf8) {
            headerBytes.removeAll(keepingCapacity: true)
            return true
        }
        headerBytes.append(contentsOf: line)
        return true
    }

    /// Resumes the caller with the outcome of libcurl's `code` and makes the handle ready
    /// for reuse.
    func finish(code: CURLcode) {
        if receiver?.isCancelled == true {
            failCancelled()
            return
        }
        if code == CURLE_OK {
            var status = 0
            ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            let response = HTTPResponse(
                status: status, headerBytes: headerBytes, body: body, completedNanoseconds: CurlMultiClient.wallNanoseconds())
            reset()
            continuation?.resume(returning: response)
        } else {
            let error = Transfer.error(
                for: code, refusedBody: exceededLimit ? maxResponseBytes : nil,
                refusedHeaders: exceededHeaderLimit ? maxHeaderBytes : nil)
            reset()
            continuation?.resume(throwing: error)
        }
        continuation = nil
    }

    /// Resumes the caller with `error` (a refused option, shutdown) and makes the handle
    /// ready for reuse.
    func fail(_ error: HTTPClientError) {
        reset()
        continuation?.resume(throwing: error)
        continuation = nil
    }

    /// Resumes the caller of a stream whose task was cancelled with `CancellationError` and
    /// makes the handle ready for reuse.
    func failCancelled() {
        reset()
        continuation?.resume(throwing: CancellationError())
        continuation = nil
    }

    /// Drops the options (and with them libcurl's copies of URL and credentials) and this
    /// transfer's buffers; the response owns the arrays handed to it.
    private func reset() {
        curl_easy_reset(easy)
        if let headerList {
            curl_slist_free_all(headerList)
            self.headerList = nil
        }
        if let connectToList {
            curl_slist_free_all(connectToList)
            self.connectToList = nil
        }
        body = []
        headerBytes = []
        receiver = nil
        streamsBody = nil
    }

    /// The error for libcurl's `code`. `refusedBody` and `refusedHeaders` are the limits a
    /// callback refused data for, which libcurl reports as a write error.
    static func error(for code: CURLcode, refusedBody: Int?, refusedHeaders: Int?) -> HTTPClientError {
        if code == CURLE_WRITE_ERROR {
            if let limit = refusedHeaders { return .headersTooLarge(limit: limit) }
            if let limit = refusedBody { return .responseTooLarge(limit: limit) }
        }
        let message = String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .connect(message)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND:
            return .tls(message)
        default:
            return .transport(message)
        }
    }
}

private func transferWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    return transfer.appendBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func transferHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    return transfer.appendHeader(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}
