/// What a node's power annotations say, as read at one moment.
public enum LivePower: Sendable, Hashable {
    /// A current reading: `watts`, published `age` seconds ago (under the freshness limit).
    case fresh(watts: Double, age: Double)
    /// A reading that is too old to trust (`age` seconds, at or beyond the limit).
    case stale(watts: Double, age: Double)
    /// Neither annotation is present (the monitor does not annotate this node).
    case absent
    /// The annotations are present but unusable; `reason` says why in one line.
    case invalid(reason: String)

    /// The watts the scorer may use: only a fresh reading counts.
    public var usableWatts: Double? {
        if case .fresh(let watts, _) = self { return watts }
        return nil
    }
}
