extension DurationParsing {
    /// A duration as the configuration writes it, in the largest unit that divides it:
    /// `100ms`, `1s`, `90s`, `5m`, `1h`, `14d`. ``milliseconds(_:)`` reads it back exactly.
    public static func text(milliseconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds != 0 && milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }
}
