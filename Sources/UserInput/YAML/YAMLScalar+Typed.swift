import Yams

extension YAMLScalar {
    /// What YAML's implicit typing makes of a scalar.
    public enum Typed: Sendable, Hashable {
        /// `~`, `null`, nothing.
        case null
        /// `true`, `false` (and YAML 1.1's `yes`, `no`, `on`, `off`).
        case bool(Bool)
        /// A whole number that fits 64 bits.
        case integer(Int64)
        /// A finite floating-point number.
        case double(Double)
        /// Anything else, and every quoted, block or tagged scalar.
        case string(String)
    }

    /// The scalar typed as Kubernetes objects written in YAML are (a volume's `readOnly: true`,
    /// `defaultMode: 420`): a plain scalar without a tag by YAML's resolution rules, as Yams
    /// resolves them; everything quoted, block-styled or tagged is a string as written.
    public var typed: Typed {
        guard style == .plain, tag == nil else { return .string(text) }
        if isNull { return .null }
        let scalar = Node.Scalar(text, .implicit, .plain)
        if let value = Bool.construct(from: scalar) { return .bool(value) }
        if let value = Int.construct(from: scalar), let exact = Int64(exactly: value) { return .integer(exact) }
        if let value = Double.construct(from: scalar), value.isFinite { return .double(value) }
        return .string(text)
    }
}
