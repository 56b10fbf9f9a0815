import EnergyModel

extension YAMLValue {
    /// A single value, trimmed, not empty.
    public func string() throws(KeyPathError) -> String {
        let value = try rawString().trimmingSpaces()
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    /// A single value kept exactly as written (command arguments may be empty or have spaces).
    public func rawString() throws(KeyPathError) -> String {
        guard let scalar else { throw error("must be a single value, not \(kindDescription)") }
        return scalar.text
    }

    /// `true`, `yes`, `on` or `false`, `no`, `off`, in any case (YAML 1.1's booleans, as
    /// kubectl reads them too).
    public func bool() throws(KeyPathError) -> Bool {
        let text = try string()
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("must be true or false, not \"\(text)\"")
        }
    }

    /// A finite number in decimal notation (`12`, `-0.5`, `1.2e3`), quoted or not. Swift's
    /// `Double(_:)` alone would also take `nan`, `inf` and hexadecimal floats, which no figure
    /// in our files is written as; `1e999` and 400-digit numbers are infinite and refused.
    public func number() throws(KeyPathError) -> Double {
        let text = try string()
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }), let value = Double(text) else {
            throw error("must be a number, not \"\(text)\"")
        }
        guard value.isFinite else { throw error("must be a finite number, not \"\(text)\"") }
        return value
    }

    /// A number within `range`; `expected` describes the range in the message (default
    /// `low...high`).
    public func number(in range: ClosedRange<Double>, expected: String? = nil) throws(KeyPathError) -> Double {
        let value = try number()
        guard range.contains(value) else {
            let text = (try? string()) ?? ""
            throw error(
                "must be a number \(expected ?? "in \(range.lowerBound)...\(range.upperBound)"), not \"\(text)\"")
        }
        return value
    }

    /// A whole number in decimal digits (a sign only where `range` allows negatives) within `range`.
    public func integer(in range: ClosedRange<Int>) throws(KeyPathError) -> Int {
        let text = try string()
        let digits = range.lowerBound < 0 && text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text),
            range.contains(value)
        else {
            throw error("must be an integer in \(range.lowerBound)...\(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// A duration (`500ms`, `15s`, `1m30s`, `14d`; a bare number is refused) in milliseconds,
    /// at least `minimum` and at most `maximum`.
    public func duration(atLeast minimum: Int64 = 1, atMost maximum: Int64? = nil) throws(KeyPathError) -> Int64 {
        let text = try string()
        let value: Int64
        do {
            value = try DurationParsing.milliseconds(text)
        } catch {
            throw self.error(error.description)
        }
        if let maximum, value < minimum || value > maximum {
            let low = DurationParsing.text(milliseconds: minimum)
            throw error("must be between \(low) and \(DurationParsing.text(milliseconds: maximum))")
        }
        guard value >= minimum else {
            throw error(
                minimum <= 1
                    ? "must be longer than 0" : "must be at least \(DurationParsing.text(milliseconds: minimum))")
        }
        return value
    }

    /// Units of ``byteSize(in:)``, by their lowercased name.
    static let byteUnits: [String: Int] = [
        "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000,
    ]

    /// A whole number of bytes with a unit (`64MiB`, `512 KiB`, `100MB`, `4096B`) within `range`.
    /// A bare number is refused, as for durations: `64` could mean bytes or MiB.
    public func byteSize(in range: ClosedRange<Int>) throws(KeyPathError) -> Int {
        let text = try string()
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = String(text.dropFirst(digits.count)).trimmingSpaces().lowercased()
        let example = "e.g. 64MiB (units B, KiB, MiB, GiB, KB, MB, GB)"
        guard !digits.isEmpty, !unit.isEmpty, let scale = Self.byteUnits[unit] else {
            throw error("must be a whole number of bytes with a unit, \(example), not \"\(text)\"")
        }
        guard let number = Int(digits) else { throw error("\"\(text)\" is too large") }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
        guard !overflow, range.contains(bytes) else {
            let low = Self.describeBytes(range.lowerBound)
            throw error("must be between \(low) and \(Self.describeBytes(range.upperBound)), not \"\(text)\"")
        }
        return bytes
    }

    /// `1KiB`, `16GiB`: a size in the largest binary unit that divides it (`100B` otherwise).
    public static func describeBytes(_ bytes: Int) -> String {
        for (unit, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(unit)"
        }
        return "\(bytes)B"
    }

    /// A listen address (see ``ListenAddress``); port 0 (any free port) only where `allowingPortZero`.
    public func listenAddress(allowingPortZero: Bool = false) throws(KeyPathError) -> ListenAddress {
        let text = try string()
        do {
            return try ListenAddress(text, allowingPortZero: allowingPortZero)
        } catch {
            throw self.error(error.description)
        }
    }
}
