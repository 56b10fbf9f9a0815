/// YAML alias bombs: anchors `x0` ... `x<depth>`, each a flow list of `fanOut` aliases of the
/// one before, so `*x<depth>` stands for `fanOut^depth` values in a few hundred bytes. With ten
/// and seven, 10^7 values in 370 bytes; with ten and nine, 10^9.
public enum AliasBomb {
    /// The anchors as mapping entries `x0: &x0 a`, `x1: &x1 [*x0,*x0,...]`, ..., each line
    /// indented by `indent`.
    public static func anchors(fanOut: Int = 10, depth: Int = 7, indent: String = "") -> String {
        var lines = ["\(indent)x0: &x0 a"]
        for level in 1...depth {
            let items = Array(repeating: "*x\(level - 1)", count: fanOut).joined(separator: ",")
            lines.append("\(indent)x\(level): &x\(level) [\(items)]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The largest anchor's alias, `*x<depth>`.
    public static func alias(depth: Int = 7) -> String { "*x\(depth)" }

    /// A mapping whose anchors are followed by the largest one used as a key (`? *x7 : 1`),
    /// the shape that made a YAML reader hash the whole expansion.
    public static func asKey(fanOut: Int = 10, depth: Int = 7) -> String {
        anchors(fanOut: fanOut, depth: depth) + "? \(alias(depth: depth))\n: 1\n"
    }

    /// A mapping whose anchors are followed by the largest one as the value of `key`.
    public static func asValue(_ key: String = "bomb", fanOut: Int = 10, depth: Int = 7) -> String {
        anchors(fanOut: fanOut, depth: depth) + "\(key): \(alias(depth: depth))\n"
    }
}
