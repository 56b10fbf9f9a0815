import EnergyModel

extension PollLoop {
    /// The pins the plugs' sessions hold now (only plugs with a password have one).
    public var pins: [PlugPin] { sessions.compactMap(\.pin) }

    /// Forgets `pin` in its plug's session, if that session still holds exactly it (see
    /// `PlugSession.clearPin`): the plug is detected afresh at its next poll. Returns whether
    /// a session forgot it.
    @discardableResult
    public func clearPin(_ pin: PlugPin) -> Bool {
        sessions.contains { $0.plug.node == pin.node && $0.plug.meter == pin.meter && $0.clearPin(pin) }
    }
}
