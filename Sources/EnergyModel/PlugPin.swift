/// What a plug with a password was first detected as (or set to by the configuration): its
/// API family, which decides how the password travels, and the identity of the device that
/// answered. The service keeps it in the store, so that a restart does not forget it, and
/// sends the password only to a device that still answers as this one.
///
/// The family is what protects the password: a Gen2+ password goes out only as a Digest
/// answer, never as Gen1 Basic auth (the password itself, merely encoded), whoever claims to be
/// a Gen1 device on the plug's address. The identity (the Gen2+ device id and the MAC address)
/// tells a replaced or reset device from the one the operator set up; it is public (any client
/// on the network can read `/shelly`), so it is no proof against a device that copies it.
public struct PlugPin: Sendable, Equatable {
    /// The API family, stored as its raw value.
    public enum Family: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Gen1: HTTP Basic auth.
        case gen1 = "gen1"
        /// Gen2, Gen3, Gen4 (the RPC API): HTTP Digest auth.
        case rpc = "gen2+"

        /// How the family's devices authenticate.
        public var authScheme: AuthScheme { self == .gen1 ? .basic : .digest }

        /// `Gen1 (Basic auth)` or `Gen2+ (Digest auth)`.
        public var description: String { self == .gen1 ? "Gen1 (Basic auth)" : "Gen2+ (Digest auth)" }
    }

    /// How the credentials travel, stored as its raw value.
    public enum AuthScheme: String, Sendable, CaseIterable {
        /// HTTP Basic: the password itself, base64-encoded.
        case basic
        /// HTTP Digest (SHA-256, or MD5 where the plug allows it): a hash of the password.
        case digest
    }

    /// The node the plug powers.
    public var node: String
    /// The meter's name on a node with several meters, else nil.
    public var meter: String?
    /// The API family the credentials go with.
    public var family: PlugPin.Family
    /// The device id (`id` of a Gen2+ `/shelly`; Gen1 devices have none).
    public var deviceID: String?
    /// The MAC address, upper-case hex digits without separators.
    public var mac: String?
    /// When the pin was made (unix milliseconds).
    public var firstSeenMilliseconds: Int64

    /// Creates a pin; `mac` is normalised (see `normalizedMAC`).
    public init(
        node: String, meter: String? = nil, family: PlugPin.Family, deviceID: String?, mac: String?,
        firstSeenMilliseconds: Int64
    ) {
        self.node = node
        self.meter = meter
        self.family = family
        self.deviceID = deviceID
        self.mac = mac.map(Self.normalizedMAC)
        self.firstSeenMilliseconds = firstSeenMilliseconds
    }

    /// How the credentials travel.
    public var authScheme: AuthScheme { family.authScheme }

    /// The plug in words: `node` or `node/meter`.
    public var plugName: String { meter.map { "\(node)/\($0)" } ?? node }

    /// Whether a device answering as `family`, `deviceID` and `mac` is the pinned one: the same
    /// family and exactly the same identity (a value the pin has and the device no longer
    /// reports, or the reverse, is another identity). MAC addresses compare without case
    /// and separators, device ids without case.
    public func matches(family: PlugPin.Family, deviceID: String?, mac: String?) -> Bool {
        family == self.family && sameIdentity(deviceID: deviceID, mac: mac)
    }

    /// Whether `deviceID` and `mac` are the pinned identity (see `matches`).
    public func sameIdentity(deviceID: String?, mac: String?) -> Bool {
        deviceID?.lowercased() == self.deviceID?.lowercased() && mac.map(Self.normalizedMAC) == self.mac
    }

    /// A MAC address as upper-case hex digits without `:`, `-` or `.` separators (Gen1 and
    /// Gen2+ write `AABBCCDDEEFF`; people write `aa:bb:cc:dd:ee:ff`). Anything else is kept
    /// as it is, upper-cased, so that it still compares unequal to every real address.
    public static func normalizedMAC(_ text: String) -> String {
        let separators: Set<Character> = [":", "-", "."]
        return String(text.filter { !separators.contains($0) }).uppercased()
    }
}
