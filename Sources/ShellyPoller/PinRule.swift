import EnergyModel

/// Whether a plug's credentials may go to the device that answered `/shelly`, and what the
/// plug's pin becomes (see `PlugPin`). Pure: the session applies it and reports new pins.
///
/// - A plug without a password has nothing to protect: never pinned.
/// - `generation: auto`: the first device detected is pinned; later the credentials go only
///   to a device of the pinned family and identity. Any other is refused until the operator
///   confirms it, by setting `generation:` or by clearing the stored pin.
/// - `generation: 1` or `2`: the operator has said what the plug is, so the configuration wins;
///   the pin follows it (the configured family, the identity the device reports) so that a
///   later `auto` starts from what the operator confirmed.
enum PinRule {
    /// What to do with the credentials.
    enum Decision: Equatable {
        /// Send them; the pin stays as it is.
        case proceed
        /// Send them, and pin the plug to this from now on (a new or an updated pin).
        case pin(PlugPin)
        /// Do not send them: the device is not the pinned one. The message says why, in one line.
        case refuse(String)
    }

    /// The decision for `plug`, pinned to `pin` (if at all), when `/shelly` answered `claim`
    /// at `nowMilliseconds`.
    static func decide(plug: PlugConfiguration, pin: PlugPin?, claim: DeviceInfo, nowMilliseconds: Int64) -> Decision {
        guard plug.password != nil else { return .proceed }
        let claimed = PlugPin.Family(claim.generation)
        let family: PlugPin.Family
        switch plug.generation {
        case .gen1: family = .gen1
        case .rpc: family = .rpc
        case .auto:
            guard let pin else {
                family = claimed
                break
            }
            if pin.matches(family: claimed, deviceID: claim.deviceID, mac: claim.mac) { return .proceed }
            return .refuse(refusal(plug: plug, pin: pin, claim: claim))
        }
        if let pin, pin.matches(family: family, deviceID: claim.deviceID, mac: claim.mac) { return .proceed }
        return .pin(
            PlugPin(
                node: plug.node, meter: plug.meter, family: family, deviceID: claim.deviceID, mac: claim.mac,
                firstSeenMilliseconds: nowMilliseconds))
    }

    /// Why the credentials stay home, with what to do about it. Device strings are quoted,
    /// folded to one line and shortened: they are outside input.
    static func refusal(plug: PlugConfiguration, pin: PlugPin, claim: DeviceInfo) -> String {
        let claimed = PlugPin.Family(claim.generation)
        let what =
            claimed != pin.family
            ? "device now claims to be \(claimed) (\(identity(claim.deviceID, claim.mac)))"
            : "device now answers as \(identity(claim.deviceID, claim.mac))"
        let since = TimeParsing.utcText(milliseconds: pin.firstSeenMilliseconds)
        return "\(what) but its credentials are pinned to \(pin.family) (\(identity(pin.deviceID, pin.mac))) "
            + "since \(since); not sending them. If the plug was really replaced, set `generation:` for it "
            + "or clear the pin (energy-monitor pins --database FILE --clear \(plug.node))"
    }

    /// `id "…", mac "…"`, with `none` for what is missing.
    static func identity(_ deviceID: String?, _ mac: String?) -> String {
        "id \(quoted(deviceID)), mac \(quoted(mac.map(PlugPin.normalizedMAC)))"
    }

    /// A device string for a message: quoted, one line, at most 64 characters; `none` when absent.
    static func quoted(_ text: String?) -> String {
        guard let text else { return "none" }
        return "\"" + text.foldedToOneLine(limit: 64) + "\""
    }
}

extension PlugPin.Family {
    /// The family of a detected generation.
    init(_ generation: ShellyGeneration) {
        switch generation {
        case .gen1: self = .gen1
        case .rpc: self = .rpc
        }
    }
}
