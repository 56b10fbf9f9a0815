import UserInput

/// What `check` needs of the monitor's configuration (the same YAML as `run --config`): the
/// plugs' nodes, the annotation prefix and whether annotations are on, and the nodes left
/// unmetered on purpose. Read leniently: the rest of the file (password files that exist only
/// in the pod) is the service's to check.
public struct MonitorSettings: Sendable, Equatable {
    /// The nodes of `plugs:`.
    public var plugNodes: [String]
    /// `kubernetes.annotate`.
    public var annotate: Bool
    /// `kubernetes.prefix`.
    public var prefix: String
    /// `kubernetes.unmetered`.
    public var unmetered: [String]

    /// Creates settings.
    public init(
        plugNodes: [String], annotate: Bool = true, prefix: String = "energy.thesis.io", unmetered: [String] = []
    ) {
        self.plugNodes = plugNodes
        self.annotate = annotate
        self.prefix = prefix
        self.unmetered = unmetered
    }

    /// Reads the configuration text; `source` names it in errors.
    public init(yaml: String, source: String) throws(KeyPathError) {
        do throws(KeyPathError) {
            guard let root = try YAMLDocument.parse(yaml) else { throw KeyPathError("", "is empty") }
            var nodes: [String] = []
            for plug in try root.member("plugs")?.list() ?? [] {
                guard let node = plug.member("node") else { throw KeyPathError(plug.path(of: "node"), "missing") }
                let name = try node.string()
                if !nodes.contains(name) { nodes.append(name) }
            }
            var settings = MonitorSettings(plugNodes: nodes, annotate: false)
            if let kubernetes = root.member("kubernetes"), !kubernetes.isNull {
                if let annotate = kubernetes.member("annotate") { settings.annotate = try annotate.bool() }
                if let prefix = kubernetes.member("prefix") { settings.prefix = try prefix.string() }
                if let unmetered = kubernetes.member("unmetered"), !unmetered.isNull {
                    settings.unmetered = try unmetered.stringList()
                }
            }
            self = settings
        } catch {
            throw error.located(in: source)
        }
    }
}
