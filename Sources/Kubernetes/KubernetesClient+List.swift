import CurlClient
import JSON

extension KubernetesClient {
    /// One page of a list.
    public struct ListPage: Sendable {
        /// The page's objects.
        public var items: [JSONValue]
        /// True for the first page of a listing: also after the server expired the
        /// continuation (`410`) and the list started over, when whatever earlier pages
        /// delivered must be dropped.
        public var startsOver: Bool
    }

    /// Objects per page: client-go's pager default.
    public static let defaultPageSize = 500
    /// The largest page read. A page that is larger is asked for again at half the `limit`:
    /// the memory a list costs is one page (plus what the caller keeps of it), whatever the
    /// size of the cluster.
    public static let maxPageBytes = 64 << 20

    /// Lists the collection at `path` (with its selectors) in pages of `pageSize` objects
    /// (`limit`, `continue`), handing each page to `onPage` as it arrives, and returns the
    /// list's resource version (where a watch starts). A continuation the server expired
    /// (`410`) starts the list over, as client-go's pager does.
    public func list(
        path: String, pageSize: Int = KubernetesClient.defaultPageSize, onPage: (ListPage) -> Void
    ) async throws(KubernetesRequestError) -> String {
        var limit = max(1, pageSize)
        var token: String?
        var startsOver = true
        var restarts = 0
        while true {
            var query = "limit=\(limit)"
            if let token { query += "&continue=\(Self.queryValue(token))" }
            let full = path + (path.contains("?") ? "&" : "?") + query
            let bytes: [UInt8]
            switch await send(
                method: "GET", path: full, headers: [], body: nil, maxResponseBytes: Self.maxPageBytes)
            {
            case .success(let response) where (200..<300).contains(response.status):
                bytes = response.body
            case .success(let response):
                let error = KubernetesRequestError(failure: Self.classify(response))
                if error.isGone, token != nil, restarts < 3 {
                    restarts += 1
                    token = nil
                    startsOver = true
                    continue
                }
                throw error
            case .failure(let error):
                if case .transport(.responseTooLarge) = error.failure, limit > 1 {
                    limit = max(1, limit / 2)
                    continue
                }
                throw error
            }
            guard let list = JSONValue.parse(bytes), list.object != nil else {
                throw KubernetesRequestError(failure: .transport(.transport("the API did not answer \(path) with a list")))
            }
            let items = list["items"]?.array ?? []
            onPage(ListPage(items: items, startsOver: startsOver))
            startsOver = false
            let next = list["metadata"]?["continue"]?.string ?? ""
            if next.isEmpty {
                return list["metadata"]?["resourceVersion"]?.string ?? ""
            }
            token = next
        }
    }

    /// Lists the collection at `path` in pages and returns every object with the list's
    /// resource version. The objects are held at once: for large collections read pages
    /// with ``list(path:pageSize:onPage:)``.
    public func list(path: String, pageSize: Int = KubernetesClient.defaultPageSize) async throws(KubernetesRequestError)
        -> (items: [JSONValue], resourceVersion: String)
    {
        var items: [JSONValue] = []
        let version = try await list(path: path, pageSize: pageSize) { page in
            if page.startsOver { items.removeAll() }
            items += page.items
        }
        return (items, version)
    }
}
