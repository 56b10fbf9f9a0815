import Scoring

/// One node of the offline cluster: named after the knowledge base's entries (`tvpc-cpu` and
/// `tvpc-gpu` are variants of node `tvpc`), drawing its idle power at rest.
public struct OfflineNode: Sendable, Equatable {
    /// The node name.
    public var name: String
    /// What its plug reads while none of the workflow's phases runs on it: the knowledge
    /// base's lowest `idlePowerWatts` of its entries, unless set (other work on the node).
    public var restingWatts: Double
    /// Allocatable CPU in millicores, for the default scheduler's model.
    public var cpuMillicores: Int64
    /// Allocatable memory in bytes.
    public var memoryBytes: Int64

    /// The capacity a node gets unless told: 4 CPUs and 8 GiB.
    public static let defaultCPUMillicores: Int64 = 4000
    /// 8 GiB.
    public static let defaultMemoryBytes: Int64 = 8 << 30

    /// Creates a node.
    public init(
        name: String, restingWatts: Double, cpuMillicores: Int64 = Self.defaultCPUMillicores,
        memoryBytes: Int64 = Self.defaultMemoryBytes
    ) {
        self.name = name
        self.restingWatts = restingWatts
        self.cpuMillicores = cpuMillicores
        self.memoryBytes = memoryBytes
    }

    /// The node an entry name stands for: the name without its last `-variant` part
    /// (`tvpc-gpu` -> `tvpc`, `dgoh-wyze-cpu` -> `dgoh-wyze`); a name without one is a node.
    public static func nodeName(ofEntry entry: String) -> String {
        guard let dash = entry.lastIndex(of: "-"), dash != entry.startIndex else { return entry }
        return String(entry[..<dash])
    }

    /// The knowledge base's nodes, in the order their first entries appear, each resting at
    /// its lowest idle power.
    public static func nodes(of knowledgeBase: KnowledgeBase) -> [OfflineNode] {
        var order: [String] = []
        var idle: [String: Double] = [:]
        for profile in knowledgeBase.profiles {
            for entry in profile.entries {
                let node = nodeName(ofEntry: entry.nodeName)
                if idle[node] == nil { order.append(node) }
                idle[node] = min(idle[node] ?? .infinity, max(0, entry.idlePowerWatts))
            }
        }
        return order.map { OfflineNode(name: $0, restingWatts: idle[$0] ?? 0) }
    }

    /// The knowledge-base entry a phase of `profile` runs as on `node`: the `-gpu` entry when
    /// the pod asks for a GPU, else the node's first entry that is not a GPU one (`-cpu`),
    /// else its first.
    public static func entry(of profile: Profile, node: String, wantsGPU: Bool) -> ProfileEntry? {
        let entries = profile.entries.filter { nodeName(ofEntry: $0.nodeName) == node }
        let gpu = entries.filter { $0.nodeName.lowercased().hasSuffix("-gpu") }
        if wantsGPU, let first = gpu.first { return first }
        return entries.first { !$0.nodeName.lowercased().hasSuffix("-gpu") } ?? entries.first
    }
}
