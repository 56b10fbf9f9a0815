import EnergyModel
import UserInput

extension ConfigurationReader {
    /// `shards:`: `count`, optional `index` (else the host name's ordinal), optional `peers`
    /// (a pattern with `{i}`, comma-separated URLs, or a list of them).
    func shards(_ value: YAMLValue) throws(KeyPathError) -> ShardSettings {
        let fields = try value.fields(known: ["count", "index", "peers"])
        let count = try fields.required("count").integer(in: 1...ShardAssignment.maxCount)
        var settings = ShardSettings(count: count, index: .hostname)
        if let index = fields["index"], !index.isNull {
            settings.index = .fixed(try index.integer(in: 0...(count - 1)))
        }
        if let peers = fields["peers"], !peers.isNull {
            var list: [String]?
            var text = ""
            if case .sequence = peers.node.content {
                list = try peers.stringList()
            } else {
                text = try peers.string()
            }
            do throws(ShardError) {
                if let list {
                    settings.peers = try ShardPeers.validated(list, count: count)
                } else {
                    settings.peers = try ShardPeers.expand(text, count: count)
                }
            } catch {
                throw peers.error(error.description)
            }
        }
        return settings
    }
}
