/// Go's `time.Duration` text, as metrics-server writes a metric's `window`: `15.012s`, `20s`,
/// `1m0s`, `500ms`, `1.5µs`, `0s`.
public enum GoDuration {
    /// The duration in milliseconds (rounded to the nearest), or nil for text `time.ParseDuration`
    /// refuses, a negative duration, or one beyond a year (no metrics window is that long).
    public static func milliseconds(_ text: String) -> Int64? {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty, scalars.count <= 64 else { return nil }
        var index = 0
        if scalars[0] == "+" { index = 1 }
        if scalars[0] == "-" { return text == "-0" ? 0 : nil }
        // Go accepts a bare `0` (and only zero) without a unit.
        if String(String.UnicodeScalarView(scalars[index...])) == "0" { return 0 }
        var totalNanoseconds = 0.0
        var sawPart = false
        while index < scalars.count {
            var number = ""
            var digits = 0
            while index < scalars.count, isNumeral(scalars[index]) {
                if scalars[index] != "." { digits += 1 }
                number.unicodeScalars.append(scalars[index])
                index += 1
            }
            var unit = ""
            while index < scalars.count, !(isNumeral(scalars[index])) {
                unit.unicodeScalars.append(scalars[index])
                index += 1
            }
            guard digits > 0, number.filter({ $0 == "." }).count <= 1, let factor = nanoseconds(unit) else {
                return nil
            }
            if number.hasPrefix(".") { number = "0" + number }
            if number.hasSuffix(".") { number += "0" }
            guard let value = Double(number) else { return nil }
            totalNanoseconds += value * factor
            sawPart = true
        }
        guard sawPart, totalNanoseconds.isFinite, totalNanoseconds <= 366 * 86_400 * 1e9 else { return nil }
        return Int64(rounding: totalNanoseconds / 1e6)
    }

    /// Go's text for a whole number of milliseconds, as `Duration.String()` writes it:
    /// `0s`, `500ms`, `15s`, `15.012s`, `1m0s`, `1h2m3.5s`.
    public static func format(milliseconds: Int64) -> String {
        guard milliseconds != 0 else { return "0s" }
        let sign = milliseconds < 0 ? "-" : ""
        let magnitude = milliseconds.magnitude
        if magnitude < 1000 { return "\(sign)\(magnitude)ms" }
        let hours = magnitude / 3_600_000
        let minutes = magnitude / 60_000 % 60
        let seconds = magnitude / 1000 % 60
        let fraction = magnitude % 1000
        var secondsText = "\(seconds)"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 3 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            secondsText += "." + digits
        }
        var text = sign
        if hours > 0 { text += "\(hours)h" }
        if hours > 0 || minutes > 0 { text += "\(minutes)m" }
        return text + secondsText + "s"
    }

    /// A digit or the decimal point.
    private static func isNumeral(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "." || (scalar.value >= 0x30 && scalar.value <= 0x39)
    }

    private static func nanoseconds(_ unit: String) -> Double? {
        switch unit {
        case "ns": 1
        case "us", "µs", "μs": 1e3
        case "ms": 1e6
        case "s": 1e9
        case "m": 60e9
        case "h": 3600e9
        default: nil
        }
    }
}
