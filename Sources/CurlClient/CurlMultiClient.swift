import CCurl
import Foundation

/// An HTTP client that drives every transfer from one thread through libcurl's multi
/// interface: thousands of concurrent requests cost one thread, not one thread each.
///
/// `perform(_:)` may be called from any task. The blocking `curl_multi_poll` runs on the
/// client's own thread, never on the cooperative pool.
///
/// `@unchecked Sendable`: the only state touched from other threads is `pending` and
/// `stopping`, both guarded by `lock`; everything else belongs to the loop thread.
public final class CurlMultiClient: @unchecked Sendable {
    private let multi: UnsafeMutableRawPointer
    private let lock = NSLock()
    private var pending: [Transfer] = []
    private var stopping = false
    private var stopped = false
    /// Transfers in flight, by easy handle. Loop thread only.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the client's thread.
    public init() {
        CurlGlobal.initialize()
        guard let handle = curl_multi_init() else {
            fatalError("curl_multi_init failed: out of memory")
        }
        multi = handle
        let thread = Thread { [self] in self.loop() }
        thread.name = "curl-multi"
        thread.start()
    }

    deinit {
        shutdown()
    }

    /// Performs a request. Throws `HTTPClientError` when no response arrives.
    public func perform(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            let transfer = Transfer(request: request, continuation: continuation)
            lock.lock()
            if stopping {
                lock.unlock()
                continuation.resume(throwing: HTTPClientError.shutdown)
                return
            }
            pending.append(transfer)
            lock.unlock()
            curl_multi_wakeup(multi)
        }
    }

    /// Fails pending transfers, stops the thread and releases libcurl. Idempotent.
    public func shutdown() {
        lock.lock()
        let wasStopping = stopping
        stopping = true
        lock.unlock()
        if !wasStopping {
            curl_multi_wakeup(multi)
            finished.wait()
            curl_multi_cleanup(multi)
        }
    }

    private func loop() {
        var running: Int32 = 0
        while true {
            lock.lock()
            let isStopping = stopping
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            lock.unlock()
            if isStopping {
                for transfer in batch { transfer.continuation.resume(throwing: HTTPClientError.shutdown) }
                for (_, transfer) in active {
                    curl_multi_remove_handle(multi, transfer.easy)
                    transfer.finish(code: CURLE_ABORTED_BY_CALLBACK, forcedError: .shutdown)
                }
                active.removeAll()
                finished.signal()
                return
            }
            for transfer in batch {
                if let error = transfer.configure() {
                    transfer.finish(code: CURLE_FAILED_INIT, forcedError: error)
                    continue
                }
                active[transfer.easy] = transfer
                curl_multi_add_handle(multi, transfer.easy)
            }
            curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi, easy)
                if let transfer = active.removeValue(forKey: easy) {
                    transfer.finish(code: code, forcedError: nil)
                }
            }
            // Sleeps until a socket is ready, a timeout inside libcurl is due, or wakeup().
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }
}

/// One-time process-wide libcurl initialisation.
enum CurlGlobal {
    private static let once: Void = {
        curl_global_init(3)  // CURL_GLOBAL_ALL: the macro is a cast and not imported.
    }()

    static func initialize() { _ = once }
}

/// libcurl constants whose C macros Swift cannot import.
enum CurlConstant {
    static let authBasic: Int = 1 << 0
    static let authDigest: Int = 1 << 1
    static let blobCopy: UInt32 = 1
}

/// The state of one transfer. Owned by the client's loop thread once queued.
final class Transfer {
    let request: HTTPRequest
    let continuation: CheckedContinuation<HTTPResponse, any Error>
    let easy: UnsafeMutableRawPointer
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var exceededLimit = false
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var finished = false

    init(request: HTTPRequest, continuation: CheckedContinuation<HTTPResponse, any Error>) {
        self.request = request
        self.continuation = continuation
        guard let handle = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        self.easy = handle
    }

    deinit {
        curl_easy_cleanup(easy)
        if let headerList { curl_slist_free_all(headerList) }
    }

    /// Sets every option; returns an error for an option libcurl refuses.
    func configure() -> HTTPClientError? {
        var failed: String?
        func check(_ code: CURLcode, _ what: String) {
            if code != CURLE_OK, failed == nil { failed = "\(what): \(String(cString: curl_easy_strerror(code)))" }
        }
        check(ccurl_easy_setopt_pointer(easy, CURLOPT_URL, request.url), "url")
        check(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "nosignal")
        check(ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds), "timeout")
        check(ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.timeoutMilliseconds), "connect timeout")
        check(ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0), "redirects")
        check(ccurl_easy_setopt_pointer(easy, CURLOPT_PROTOCOLS_STR, "http,https"), "protocols")

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
        var lines = request.headers
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
            check(ccurl_easy_setopt_long(easy, CURLOPT_HTTPAUTH, CurlConstant.authBasic), "auth")
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_USERNAME, user), "username")
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_PASSWORD, password), "password")
        case .digest(let user, let password):
            check(ccurl_easy_setopt_long(easy, CURLOPT_HTTPAUTH, CurlConstant.authDigest), "auth")
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
        configureTLS(check)
        if let failed { return .transport(failed) }
        return nil
    }

    private func configureTLS(_ check: (CURLcode, String) -> Void) {
        let tls = request.tls
        if tls.insecureSkipVerify {
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0), "verify peer")
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0), "verify host")
        } else {
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1), "verify peer")
            check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2), "verify host")
        }
        if let file = tls.caFile { check(ccurl_easy_setopt_pointer(easy, CURLOPT_CAINFO, file), "CA file") }
        if let pem = tls.caPEM { setBlob(CURLOPT_CAINFO_BLOB, pem, check, "CA data") }
        if let file = tls.clientCertificateFile {
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_SSLCERT, file), "client certificate")
        }
        if let pem = tls.clientCertificatePEM { setBlob(CURLOPT_SSLCERT_BLOB, pem, check, "client certificate data") }
        if let file = tls.clientKeyFile { check(ccurl_easy_setopt_pointer(easy, CURLOPT_SSLKEY, file), "client key") }
        if let pem = tls.clientKeyPEM { setBlob(CURLOPT_SSLKEY_BLOB, pem, check, "client key data") }
    }

    private func setBlob(_ option: CURLoption, _ bytes: [UInt8], _ check: (CURLcode, String) -> Void, _ what: String) {
        var copy = bytes
        copy.withUnsafeMutableBytes { raw in
            var blob = curl_blob(data: raw.baseAddress, len: raw.count, flags: CurlConstant.blobCopy)
            withUnsafePointer(to: &blob) { pointer in
                check(ccurl_easy_setopt_pointer(easy, option, pointer), what)
            }
        }
    }

    func appendBody(_ data: UnsafeRawBufferPointer) -> Bool {
        if body.count + data.count > request.maxResponseBytes {
            exceededLimit = true
            return false
        }
        body.append(contentsOf: data)
        return true
    }

    func appendHeader(_ line: String) {
        if line.hasPrefix("HTTP/") {
            // A new response (after a 401 challenge or a 100 Continue): keep only the last.
            headers.removeAll()
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        headers.append((name: name, value: value))
    }

    func finish(code: CURLcode, forcedError: HTTPClientError?) {
        guard !finished else { return }
        finished = true
        if let forcedError {
            continuation.resume(throwing: forcedError)
            return
        }
        if code == CURLE_OK {
            var status = 0
            ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            continuation.resume(returning: HTTPResponse(status: status, headers: headers, body: body))
            return
        }
        continuation.resume(throwing: Transfer.error(for: code, exceededLimit: exceededLimit, limit: request.maxResponseBytes))
    }

    static func error(for code: CURLcode, exceededLimit: Bool, limit: Int) -> HTTPClientError {
        let message = String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .connect(message)
        case CURLE_WRITE_ERROR where exceededLimit:
            return .responseTooLarge(limit: limit)
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
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    transfer.appendHeader(line.trimmingCharacters(in: .whitespacesAndNewlines))
    return length
}
