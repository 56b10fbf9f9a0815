import Foundation

/// The base URLs of the shards, index by index, that queries for another shard's nodes are
/// sent to: a pattern with `{i}` for the ordinal (the pods of a StatefulSet behind a headless
/// Service: `http://energy-monitor-{i}.energy-monitor-shards:9840`) or one URL per shard.
public enum ShardPeers {
    /// `text` as `count` base URLs: a pattern with `{i}`, or `count` comma-separated URLs.
    public static func expand(_ text: String, count: Int) throws(ShardError) -> [String] {
        if text.contains("{i}") {
            return try validated((0..<count).map { text.replacingOccurrences(of: "{i}", with: "\($0)") }, count: count)
        }
        let list = text.split(separator: ",", omittingEmptySubsequences: false).map {
            String($0).trimmingSpaces()
        }
        return try validated(list, count: count)
    }

    /// Checks `count` base URLs (`http://host:port`, no path); returns them without a
    /// trailing `/`.
    public static func validated(_ urls: [String], count: Int) throws(ShardError) -> [String] {
        guard urls.count == count else {
            throw ShardError("\(urls.count) URLs for \(count) shards; give one per shard or a pattern with {i}")
        }
        var result: [String] = []
        for (index, url) in urls.enumerated() {
            var text = Substring(url)
            while text.hasSuffix("/") { text.removeLast() }
            let rest: Substring
            if text.hasPrefix("http://") {
                rest = text.dropFirst(7)
            } else if text.hasPrefix("https://") {
                rest = text.dropFirst(8)
            } else {
                throw ShardError(
                    "entry \(index): expected http://host:port, not \"\(url.foldedToOneLine(limit: 120))\"")
            }
            guard !rest.isEmpty, !rest.hasPrefix(":"),
                rest.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:[]".contains($0)) })
            else {
                throw ShardError(
                    "entry \(index): expected http://host:port, not \"\(url.foldedToOneLine(limit: 120))\"")
            }
            result.append(String(text))
        }
        return result
    }
}
