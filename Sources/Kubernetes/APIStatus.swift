import Foundation

/// The error an API server reported: its `Status` object (`code`, `reason`, `message`), or
/// for non-Status bodies (a 429 from priority and fairness is `text/plain`) the body text.
public struct APIStatus: Sendable, Equatable, CustomStringConvertible {
    /// HTTP status code.
    public var code: Int
    /// Machine-readable reason such as `Forbidden`, `NotFound`, `Invalid`, if given.
    public var reason: String?
    /// The server's human-readable message.
    public var message: String

    /// Creates a status.
    public init(code: Int, reason: String? = nil, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    /// Reads a response body: a `Status` object when it is one, else at most 300 characters
    /// of its text on one line.
    public init(code: Int, body: [UInt8]) {
        struct Wire: Decodable {
            var kind: String?
            var reason: String?
            var message: String?
        }
        if let wire = try? JSONDecoder().decode(Wire.self, from: Data(body)), wire.kind == "Status",
            let message = wire.message
        {
            self.init(code: code, reason: wire.reason?.isEmpty == false ? wire.reason : nil, message: message)
            return
        }
        let text = String(decoding: body, as: UTF8.self)
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        let clipped = text.count > 300 ? String(text.prefix(300)) + "…" : text
        self.init(code: code, reason: nil, message: clipped.isEmpty ? "HTTP \(code) without a message" : clipped)
    }

    /// `HTTP 403 Forbidden: nodes "x" is forbidden: ...`
    public var description: String {
        "HTTP \(code)\(reason.map { " \($0)" } ?? ""): \(message)"
    }
}
