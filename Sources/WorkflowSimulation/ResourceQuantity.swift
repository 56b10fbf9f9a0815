import EnergyModel

/// Kubernetes resource quantities as the default scheduler's model needs them: CPU in
/// millicores (`500m`, `1`, `1.5`), memory in bytes (`256Mi`, `1Gi`, `512M`, `1000`).
/// Anything else reads as nil (and counts as no request).
public enum ResourceQuantity {
    /// Millicores of a CPU quantity.
    public static func millicores(_ text: String) -> Int64? {
        let value = text.trimmingSpaces()
        if value.hasSuffix("m") { return whole(value.dropLast(), times: 1) }
        return whole(Substring(value), times: 1000)
    }

    /// Bytes of a memory quantity.
    public static func bytes(_ text: String) -> Int64? {
        let value = text.trimmingSpaces()
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("k", 1e3), ("M", 1e6), ("G", 1e9),
            ("T", 1e12),
        ]
        for (suffix, factor) in suffixes where value.hasSuffix(suffix) {
            return whole(value.dropLast(suffix.count), times: factor)
        }
        return whole(Substring(value), times: 1)
    }

    /// A plain decimal number times `factor`, as a whole number within 0...2^53.
    private static func whole(_ text: Substring, times factor: Double) -> Int64? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let number = Double(text)
        else { return nil }
        let product = (number * factor).rounded(.up)
        guard product.isFinite, product >= 0, product <= 9_007_199_254_740_992 else { return nil }
        return Int64(exactly: product)
    }
}
