import Foundation

extension KubernetesClient {
    /// What happens to the objects a deleted object owns (a Job's pods).
    public enum PropagationPolicy: String, Sendable {
        /// Delete the owner at once and its dependents in the background (what `kubectl
        /// delete` does). The API's default for Jobs is to orphan their pods, which would leave
        /// them running.
        case background = "Background"
        /// Delete the dependents first, then the owner.
        case foreground = "Foreground"
        /// Keep the dependents.
        case orphan = "Orphan"
    }

    /// `POST path` with a JSON body (an object to create): the created object's bytes.
    public func post(path: String, body: [UInt8]) async throws(KubernetesRequestError) -> [UInt8] {
        try await request(method: "POST", path: path, headers: ["Content-Type: application/json"], body: body)
    }

    /// `DELETE path`, with `DeleteOptions` naming `propagationPolicy` when given: the
    /// server's answer (the object, or a `Status`).
    public func delete(path: String, propagationPolicy: PropagationPolicy?) async throws(KubernetesRequestError)
        -> [UInt8]
    {
        var body: [UInt8]?
        if let propagationPolicy {
            body = Array(
                #"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"\#(propagationPolicy.rawValue)"}"#.utf8
            )
        }
        return try await request(
            method: "DELETE", path: path, headers: body == nil ? [] : ["Content-Type: application/json"], body: body)
    }

    /// Percent-encodes a query parameter value (label and field selectors, resource versions).
    public static func queryValue(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
