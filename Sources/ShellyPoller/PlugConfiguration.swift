/// Which API to speak to a plug.
public enum GenerationSetting: Sendable, Equatable {
    /// Ask `/shelly` (the default).
    case auto
    /// Gen1 HTTP API.
    case gen1
    /// RPC API (Gen2, Gen3, Gen4).
    case rpc
}

/// One plug to poll and the node it powers.
public struct PlugConfiguration: Sendable, Equatable {
    /// The Kubernetes node.
    public var node: String
    /// `http://host:port` without a trailing slash.
    public var baseURL: String
    /// API to use.
    public var generation: GenerationSetting
    /// Switch/PM1/EM1/EM component id, or Gen1 meter index.
    public var channel: Int
    /// User name for auth (Gen2+ devices always use `admin`).
    public var username: String
    /// Password, read from a file or the environment. Never logged.
    public var password: String?
    /// Whether a Gen2+ device may use Digest MD5 (off: only SHA-256 is answered).
    public var allowMD5: Bool

    /// Creates a plug configuration.
    public init(
        node: String,
        baseURL: String,
        generation: GenerationSetting = .auto,
        channel: Int = 0,
        username: String = "admin",
        password: String? = nil,
        allowMD5: Bool = false
    ) {
        self.node = node
        self.baseURL = baseURL
        self.generation = generation
        self.channel = channel
        self.username = username
        self.password = password
        self.allowMD5 = allowMD5
    }
}
