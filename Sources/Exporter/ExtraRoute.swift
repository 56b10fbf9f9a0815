import Foundation

/// A further `GET` route of the monitor's HTTP server, beside `/metrics`, the health checks
/// and the dashboard with its API: what a process running next to the monitor adds, e.g.
/// `demo --cluster`'s workflow placements at `/api/v1/workflow` (the dashboard shows that
/// panel when the route answers, and hides it on 404).
public struct ExtraRoute: Sendable {
    /// What the route answers.
    public struct Answer: Sendable, Equatable {
        /// HTTP status code.
        public var status: Int
        /// `Content-Type`.
        public var contentType: String
        /// The body.
        public var body: [UInt8]

        /// An answer.
        public init(status: Int, contentType: String, body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }

        /// `200` with `value` as compact JSON (keys sorted), or `500` in words if it cannot
        /// be encoded.
        public static func json<T: Encodable>(_ value: T) -> Answer {
            do {
                return Answer(
                    status: 200, contentType: "application/json", body: Array(try DashboardAPI.encode(value)))
            } catch {
                return Answer(
                    status: 500, contentType: "text/plain; charset=utf-8",
                    body: Array("cannot encode the answer\n".utf8))
            }
        }
    }

    /// The path, e.g. `/api/v1/workflow`.
    public let path: String
    /// Answers one request.
    public let answer: @Sendable () async -> Answer

    /// A route at `path` answered by `answer`.
    public init(path: String, answer: @escaping @Sendable () async -> Answer) {
        self.path = path
        self.answer = answer
    }
}
