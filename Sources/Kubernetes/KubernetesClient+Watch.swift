import CurlClient
import Synchronization

extension KubernetesClient {
    /// Largest watch event accepted (one object per line).
    static let maxWatchLineBytes = 8 << 20

    /// How long a watch may stay silent (no event, no bookmark) before it counts as broken
    /// and ends: API servers send a bookmark about once a minute to watches that allow them.
    public static let defaultWatchIdleSeconds = 150

    /// `GET path?watch=1&resourceVersion=RV&timeoutSeconds=N` as a stream of events, for a
    /// collection path with its own query (`/api/v1/namespaces/ml/pods?labelSelector=...`).
    /// Without a resource version the server starts with an `ADDED` event for every object
    /// that exists.
    ///
    /// The stream ends normally when the server closes the watch (it does after
    /// `timeoutSeconds`), and throws `KubernetesRequestError` for a refused watch (`403`,
    /// `410 Gone` as a response or as an `ERROR` event), a connection that broke, or one that
    /// stayed silent for `idleSeconds` (a dropped connection nobody closed; the connection
    /// also has TCP keepalive). A caller that wants to follow an object for longer watches
    /// again from the last event's resource version (see `ResumableWatch`). Stopping the
    /// iteration cancels the transfer.
    public func watch(
        path: String, resourceVersion: String?, timeoutSeconds: Int,
        idleSeconds: Int = KubernetesClient.defaultWatchIdleSeconds
    ) -> AsyncThrowingStream<WatchEvent, any Error> {
        var query = "watch=1&allowWatchBookmarks=true&timeoutSeconds=\(max(1, timeoutSeconds))"
        if let resourceVersion { query += "&resourceVersion=\(Self.queryValue(resourceVersion))" }
        let fullPath = path + (path.contains("?") ? "&" : "?") + query
        // The transfer may outlive the server's timeout by a little (network, a slow close).
        let transferTimeout = (max(1, timeoutSeconds) + 30) * 1000
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent.self)
        let task = Task {
            await self.runWatch(
                path: fullPath, timeoutMilliseconds: transferTimeout, idleSeconds: max(1, idleSeconds),
                continuation: continuation)
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func runWatch(
        path: String, timeoutMilliseconds: Int, idleSeconds: Int,
        continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation
    ) async {
        var attempt = 0
        while true {
            attempt += 1
            let lines = Mutex(WatchLineBuffer())
            let credential: RequestCredential
            do {
                credential = try await credentials.current()
            } catch {
                continuation.finish(throwing: error)
                return
            }
            var request = makeRequest(
                method: "GET", path: path, headers: [], body: nil, credential: credential,
                timeoutMilliseconds: timeoutMilliseconds)
            request.keepAlive = true
            request.idleTimeoutSeconds = idleSeconds
            let response: HTTPResponse
            do {
                // Each chunk is split into lines on the client's thread (a byte scan); events
                // are small and few, so parsing them there too costs nothing worth a hop.
                response = try await http.stream(request) { chunk in
                    let (events, failure) = lines.withLock { $0.feed(chunk) }
                    for event in events { continuation.yield(event) }
                    if let failure { continuation.finish(throwing: failure) }
                }
            } catch is CancellationError {
                continuation.finish()
                return
            } catch let error as HTTPClientError {
                continuation.finish(throwing: KubernetesRequestError(failure: .transport(error)))
                return
            } catch {
                continuation.finish(throwing: KubernetesRequestError(failure: .transport(.transport("\(error)"))))
                return
            }
            if response.status == 401, attempt == 1, credentials.isRenewable {
                credentials.invalidate(after: credential)
                continue
            }
            guard (200..<300).contains(response.status) else {
                continuation.finish(throwing: KubernetesRequestError(failure: Self.classify(response)))
                return
            }
            // A last line without its newline is an event cut off by the closing server.
            continuation.finish()
            return
        }
    }
}

/// Splits a watch body into lines and lines into events; after the first failure it ignores
/// the rest.
struct WatchLineBuffer {
    private var pending: [UInt8] = []
    private var failed = false

    mutating func feed(_ chunk: [UInt8]) -> ([WatchEvent], KubernetesRequestError?) {
        guard !failed else { return ([], nil) }
        pending.append(contentsOf: chunk)
        var events: [WatchEvent] = []
        var start = pending.startIndex
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[start..<newline]
            start = newline + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            do {
                events.append(try WatchEvent.parse(line: line))
            } catch {
                failed = true
                pending = []
                return (events, error)
            }
        }
        pending.removeSubrange(pending.startIndex..<start)
        if pending.count > KubernetesClient.maxWatchLineBytes {
            failed = true
            pending = []
            return (
                events,
                KubernetesRequestError(
                    failure: .transport(.responseTooLarge(limit: KubernetesClient.maxWatchLineBytes)))
            )
        }
        return (events, nil)
    }
}
