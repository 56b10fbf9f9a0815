/// The API family of a Shelly device.
public enum ShellyGeneration: Sendable, Equatable, CustomStringConvertible {
    /// Gen1: the classic HTTP API (`/status`, HTTP Basic auth).
    case gen1
    /// Gen2, Gen3 and Gen4: the RPC API (`/rpc/...`, Digest SHA-256 auth). The associated
    /// value is the `gen` the device reports.
    case rpc(Int)

    /// `gen1` or `gen2`/`gen3`/`gen4`.
    public var description: String {
        switch self {
        case .gen1: "gen1"
        case .rpc(let number): "gen\(number)"
        }
    }
}

/// What `/shelly` says about a device.
public struct DeviceInfo: Sendable, Equatable {
    /// Gen1 or RPC.
    public var generation: ShellyGeneration
    /// Whether the device asks for credentials.
    public var authenticationEnabled: Bool
    /// The device id (Gen2+ `id`, also the Digest realm), or the Gen1 MAC.
    public var identifier: String?
    /// The model (`type` on Gen1, `model` on Gen2+).
    public var model: String?
    /// The firmware (`fw` on Gen1, `fw_id` or `ver` on Gen2+).
    public var firmware: String?
    /// The MAC address as the device writes it (`mac`, on Gen1 and Gen2+ alike).
    public var mac: String?

    /// Creates device info.
    public init(
        generation: ShellyGeneration, authenticationEnabled: Bool, identifier: String?, model: String?,
        firmware: String? = nil, mac: String? = nil
    ) {
        self.generation = generation
        self.authenticationEnabled = authenticationEnabled
        self.identifier = identifier
        self.model = model
        self.firmware = firmware
        self.mac = mac
    }

    /// The Gen2+ device id; Gen1 devices have none (their `identifier` is the MAC).
    public var deviceID: String? {
        if case .gen1 = generation { return nil }
        return identifier
    }
}

/// A metering component of a Gen2+ device, polled with `<Kind>.GetStatus?id=<id>`.
public struct MeterComponent: Sendable, Equatable, CustomStringConvertible {
    /// Component kinds that carry power, in the order a channel is looked up.
    public enum Kind: String, Sendable, CaseIterable {
        /// `switch:N` (plugs, relays with metering): `apower`, `voltage`, `current`, `aenergy.total`.
        case `switch`
        /// `pm1:N` (power meters): same fields as a switch.
        case pm1
        /// `em1:N` (single-phase energy meters): `act_power`, `voltage`, `current`.
        case em1
        /// `em:N` (three-phase energy meters): `total_act_power`, `total_current`.
        case em

        /// The RPC namespace, e.g. `Switch`.
        public var rpcNamespace: String {
            switch self {
            case .switch: "Switch"
            case .pm1: "PM1"
            case .em1: "EM1"
            case .em: "EM"
            }
        }
    }

    /// The component kind.
    public var kind: Kind
    /// The component id.
    public var id: Int

    /// Creates a component reference.
    public init(kind: Kind, id: Int) {
        self.kind = kind
        self.id = id
    }

    /// The status path, e.g. `/rpc/Switch.GetStatus?id=0`.
    public var statusPath: String { "/rpc/\(kind.rpcNamespace).GetStatus?id=\(id)" }

    /// `switch:0` style key, as in `Shelly.GetStatus`.
    public var description: String { "\(kind.rawValue):\(id)" }
}
