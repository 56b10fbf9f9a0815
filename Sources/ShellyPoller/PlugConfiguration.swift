/// Which API to speak to a plug.
public enum GenerationSetting: Sendable, Equatable {
    /// Ask `/shelly` (the default).
    case auto
    /// Gen1 HTTP API.
    case gen1
    /// RPC API (Gen2, Gen3, Gen4).
    case rpc
}

/// How Gen2+ RPC calls travel.
public enum TransportSetting: String, Sendable, Equatable {
    /// WebSocket (`ws://HOST/rpc`), falling back to HTTP while the upgrade is refused or the
    /// connection went silent, and trying again later (the default).
    case auto
    /// WebSocket only.
    case websocket
    /// One HTTP request per call.
    case http
}

/// One plug to poll and the node it powers.
public struct PlugConfiguration: Sendable, Equatable {
    /// The Kubernetes node.
    public var node: String
    /// The meter's name when the node has several meters (`meters:`), else nil.
    public var meter: String?
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
    /// Where ``password`` was read from, if it came from the configuration.
    public var passwordSource: PasswordSource?
    /// Whether a Gen2+ device may use Digest MD5 (off: only SHA-256 is answered).
    public var allowMD5: Bool
    /// How Gen2+ RPC calls travel (Gen1 is always HTTP).
    public var transport: TransportSetting
    /// The most power the node can draw through this meter, watts (`maxWatts`): the bound of
    /// its energy counter's rise, within a poll and across a gap. Nil: the meter's rating
    /// (`MeterRating.maximumWatts`).
    public var maxWatts: Double?

    /// Creates a plug configuration.
    public init(
        node: String,
        baseURL: String,
        generation: GenerationSetting = .auto,
        channel: Int = 0,
        username: String = "admin",
        password: String? = nil,
        passwordSource: PasswordSource? = nil,
        allowMD5: Bool = false,
        transport: TransportSetting = .auto,
        maxWatts: Double? = nil
    ) {
        self.node = node
        self.baseURL = baseURL
        self.generation = generation
        self.channel = channel
        self.username = username
        self.password = password
        self.passwordSource = passwordSource
        self.allowMD5 = allowMD5
        self.transport = transport
        self.maxWatts = maxWatts
    }
}
