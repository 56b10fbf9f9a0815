/// The numbers every numeric input of the service is tested with: beyond `Int64` and
/// `Double`, at their edges, negative zero, subnormal, and hundreds of digits.
public enum ExtremeNumbers {
    /// 400 digits: beyond `Double` as an integer.
    public static let fourHundredDigits = String(repeating: "9", count: 400)

    /// As they are written in JSON, YAML, query strings and command lines.
    public static let literals: [String] = [
        "1e300", "-1e300", "1e19", "-1e19", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "-0", "1e-320", "1e999", "-1e999", fourHundredDigits, "-" + fourHundredDigits, "0." + fourHundredDigits,
    ]
}
