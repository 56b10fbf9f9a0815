import Foundation
import Hummingbird
import JSON
import NIOCore

/// Building the API server's answers: objects, lists and `Status` errors.
enum ClusterResponses {
    static func json(_ value: JSONValue, status: Int = 200) -> Response {
        Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized)))
    }

    static func status(code: Int, reason: String, message: String) -> JSONValue {
        [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure", "message": .string(message),
            "reason": .string(reason), "code": .integer(Int64(code)),
        ]
    }

    static func failure(_ failure: ClusterFailure) -> Response {
        json(status(code: failure.code, reason: failure.reason, message: failure.message), status: failure.code)
    }

    static func list(kind: String, apiVersion: String, items: [JSONValue], resourceVersion: String) -> Response {
        json([
            "kind": .string(kind), "apiVersion": .string(apiVersion),
            "metadata": ["resourceVersion": .string(resourceVersion)], "items": .array(items),
        ])
    }

    /// What priority-and-fairness answers when it sheds load: plain text, `Retry-After`.
    static func throttled(retryAfter: String?) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = retryAfter }
        return Response(
            status: .tooManyRequests, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: "Too many requests, please try again later.\n")))
    }

    /// 403 in the API server's words.
    static func forbidden(
        user: String, verb: String, resource: SimulatedResource?, resourceName: String, name: String?,
        namespace: String?
    ) -> Response {
        let qualified = resource?.qualifiedName ?? resourceName
        let object = name.map { "\(qualified) \"\($0)\"" } ?? qualified
        var message =
            "\(object) is forbidden: User \"\(user)\" cannot \(verb) resource \"\(resourceName)\" in API group \"\(resource?.group ?? "")\""
        message += namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
        return json(status(code: 403, reason: "Forbidden", message: message), status: 403)
    }

    /// RFC 1123 label: what Job and namespace names must be.
    static func isDNSLabel(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 63, name.first?.isLetter == true || name.first?.isNumber == true,
            name.last?.isLetter == true || name.last?.isNumber == true
        else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }
}
