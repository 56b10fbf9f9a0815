import JSON

/// One event of a watch stream: `{"type":"ADDED","object":{...}}`. `ERROR` events are not
/// events but the end of the stream, and arrive as a thrown `KubernetesRequestError`.
public struct WatchEvent: Sendable, Equatable {
    /// What happened to the object.
    public enum Kind: String, Sendable {
        /// The object appeared (also: every existing object when a watch starts without a
        /// resource version).
        case added = "ADDED"
        /// The object changed.
        case modified = "MODIFIED"
        /// The object is gone; `object` is its last state.
        case deleted = "DELETED"
        /// No change: only the resource version to resume from moved on.
        case bookmark = "BOOKMARK"
    }

    /// What happened.
    public var kind: Kind
    /// The object (for a bookmark, only its `metadata.resourceVersion`).
    public var object: JSONValue

    /// Creates an event.
    public init(kind: Kind, object: JSONValue) {
        self.kind = kind
        self.object = object
    }

    /// The object's `metadata.resourceVersion`: where a resumed watch continues.
    public var resourceVersion: String? { object["metadata"]?["resourceVersion"]?.string }

    /// Reads one line of a watch stream: an event, or for `ERROR` the server's status as an
    /// error (`410 Gone` when the resource version is too old).
    static func parse(line: ArraySlice<UInt8>) throws(KubernetesRequestError) -> WatchEvent {
        guard let value = JSONValue.parse(Array(line)), let type = value["type"]?.string, let object = value["object"]
        else {
            throw KubernetesRequestError(failure: .transport(.transport("watch: a line that is not a watch event")))
        }
        if type == "ERROR" {
            let code = object["code"]?.integer.flatMap { Int(exactly: $0) } ?? 500
            let status = APIStatus(
                code: code, reason: object["reason"]?.string,
                message: object["message"]?.string ?? "watch error \(code)")
            throw KubernetesRequestError(failure: code >= 500 ? .unavailable(status) : .rejected(status))
        }
        guard let kind = Kind(rawValue: type) else {
            throw KubernetesRequestError(failure: .transport(.transport("watch: unknown event type \"\(type)\"")))
        }
        return WatchEvent(kind: kind, object: object)
    }
}
