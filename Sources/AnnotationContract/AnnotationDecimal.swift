import Foundation

/// Numbers in annotation values, which are strings: only plain decimal notation counts.
public enum AnnotationDecimal {
    /// A finite number in plain decimal notation (`12.34`, `1700000000`, `1e3`); nil for
    /// the `nan`, `inf` and hexadecimal forms `Double(_:)` would also accept, for empty text
    /// and for numbers beyond `Double`.
    public static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.allSatisfy({ "0123456789+-.eE".contains($0) }),
            let value = Double(trimmed), value.isFinite
        else { return nil }
        return value
    }
}
