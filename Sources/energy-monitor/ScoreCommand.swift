import AnnotationContract
import ArgumentParser
import Foundation
import JSON
import Kubernetes
import Scoring
import UserInput

/// `energy-monitor score`: ranks nodes for a profile and weight exactly as the extender would,
/// printing every intermediate figure of the formula.
struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Rank nodes for a workload profile and weight as the scheduler would, with every figure.",
        discussion: """
            Live watts come from --watts (NODE=WATTS,...) and/or --nodes-file, a NodeList as \
            `kubectl get nodes -o json` prints it, whose power annotations count while younger than 30 s. \
            --watts wins over the file for the nodes it names. Nodes in --nodes without live watts are \
            scored from the knowledge base's idle power, as the scheduler does when a plug is down.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table
        case csv
    }

    @Option(name: .long, help: "The knowledge base: profiles.yaml or the ConfigMap manifest holding it.")
    var knowledgeBase: String

    @Option(name: .long, help: "The workload profile (as in the pod label workload-profile).")
    var profile: String

    // Unconditional so that a negative value reaches the range check instead of being taken for an option.
    @Option(name: .long, parsing: .unconditional, help: "Weight between energy (0) and performance (1).")
    var weight: String

    @Option(name: .long, help: "Live power per node: NODE=WATTS,... (e.g. tvpc=48.5,wyse=2.5,rpi=2.3).")
    var watts: String?

    @Option(name: .long, help: "A NodeList (or Node) JSON file whose power annotations give live watts.")
    var nodesFile: String?

    @Flag(name: .long, help: "Read the nodes and their power annotations from the Kubernetes API.")
    var fromCluster = false

    @OptionGroup var kubernetes: KubernetesOptions

    @Option(name: .long, help: "More nodes to rank, comma-separated (scored from idle power unless given watts).")
    var nodes: String?

    @Option(name: .long, help: "The time the annotations are judged at, unix seconds or RFC 3339 (default: now).")
    var now: String?

    @Option(name: .long, help: "Prefix of the node power annotations in --nodes-file.")
    var annotationPrefix: String = PowerAnnotations.defaultPrefix

    @Option(name: .long, help: "Job name for the Job column of the CSV output.")
    var job: String?

    @Option(name: .long, help: "table or csv (the thesis log's columns).")
    var format: Format = .table

    func validate() throws {
        _ = try ScoreInput.parseWeight(weight)
        if let watts { _ = try ScoreInput.parseWatts(watts) }
        if let nodes { _ = try ScoreInput.parseNodeNames(nodes) }
        if let now { _ = try ScoreInput.parseTime(now) }
        guard watts != nil || nodesFile != nil || nodes != nil || fromCluster else {
            throw ValidationError("no nodes to rank: give --watts, --nodes-file, --from-cluster or --nodes")
        }
        guard !(fromCluster && nodesFile != nil) else {
            throw ValidationError("give --nodes-file or --from-cluster, not both")
        }
    }

    func run() async throws {
        let knowledgeBase: KnowledgeBase
        do {
            knowledgeBase = try KnowledgeBase(contentsOfFile: self.knowledgeBase)
        } catch {
            throw CommandFailure("--knowledge-base: \(error.description)")
        }
        let profile: Profile
        do {
            profile = try knowledgeBase.profile(named: self.profile)
        } catch {
            throw CommandFailure("--profile: \(error.description)")
        }
        let weight = try ScoreInput.parseWeight(self.weight)
        let time = try now.map(ScoreInput.parseTime) ?? Date()
        var snapshots: [NodeSnapshot] = []
        let listed: [ExtenderNode]?
        if let nodesFile {
            listed = try ScoreInput.readNodesFile(nodesFile)
        } else if fromCluster {
            listed = try await ScoreInput.readClusterNodes(kubernetes)
        } else {
            listed = nil
        }
        if let listed {
            let reader = PowerAnnotations(prefix: annotationPrefix)
            snapshots = listed.map {
                NodeSnapshot(name: $0.name, annotations: $0.metadata.annotations, reader: reader, now: time)
            }
        }
        for (node, value) in try watts.map(ScoreInput.parseWatts) ?? [] {
            let snapshot = NodeSnapshot(name: node, liveWatts: value)
            if let index = snapshots.firstIndex(where: { $0.name == node }) {
                snapshots[index] = snapshot
            } else {
                snapshots.append(snapshot)
            }
        }
        for node in try nodes.map(ScoreInput.parseNodeNames) ?? [] where !snapshots.contains(where: { $0.name == node })
        {
            snapshots.append(NodeSnapshot(name: node, power: .absent))
        }
        guard !snapshots.isEmpty else {
            throw CommandFailure(fromCluster ? "--from-cluster: the cluster has no nodes" : "--nodes-file: \(nodesFile ?? ""): no nodes in the list")
        }

        let result = EnergyScorer().score(profile: profile, weight: weight, nodes: snapshots, job: job)
        switch format {
        case .table:
            FileHandle.standardOutput.write(Data(ScoreReport(result: result, profile: profile, snapshots: snapshots).table.utf8))
        case .csv:
            Console.write(([ScoringResult.thesisCSVHeader] + result.thesisCSVRows).joined(separator: "\n"))
            for diagnostic in result.diagnostics {
                FileHandle.standardError.write(Data("energy-monitor: warning: \(diagnostic)\n".utf8))
            }
        }
    }
}

/// Parsing of the `score` command's arguments, each error one line naming the option.
enum ScoreInput {
    /// A weight in 0...1 in plain decimal notation.
    static func parseWeight(_ text: String) throws -> Double {
        guard let value = AnnotationDecimal.parse(text), (0...1).contains(value) else {
            throw ValidationError("--weight: \"\(text)\" is not a number between 0 and 1")
        }
        return value
    }

    /// `NODE=WATTS,...` with distinct nodes and non-negative watts, in the order given.
    static func parseWatts(_ text: String) throws -> [(String, Double)] {
        var pairs: [(String, Double)] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let node = parts.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard parts.count == 2, !node.isEmpty else {
                throw ValidationError("--watts: \"\(item)\" is not NODE=WATTS")
            }
            guard let value = AnnotationDecimal.parse(String(parts[1])), value >= 0 else {
                throw ValidationError("--watts: \"\(parts[1])\" for node \(node) is not a non-negative number of watts")
            }
            guard !pairs.contains(where: { $0.0 == node }) else {
                throw ValidationError("--watts: node \(node) given twice")
            }
            pairs.append((node, value))
        }
        return pairs
    }

    /// Comma-separated node names, none empty.
    static func parseNodeNames(_ text: String) throws -> [String] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !names.contains(where: \.isEmpty) else {
            throw ValidationError("--nodes: empty node name in \"\(text)\"")
        }
        return names
    }

    /// Unix seconds or an RFC 3339 time.
    static func parseTime(_ text: String) throws -> Date {
        if let seconds = AnnotationDecimal.parse(text) { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions.insert(.withFractionalSeconds)
        if let date = formatter.date(from: text) { return date }
        throw ValidationError("--now: \"\(text)\" is neither unix seconds nor an RFC 3339 time")
    }

    /// The cluster's nodes from `GET /api/v1/nodes`, in pages.
    static func readClusterNodes(_ kubernetes: KubernetesOptions) async throws -> [ExtenderNode] {
        var items: [JSONValue] = []
        try await kubernetes.list("/api/v1/nodes", what: "--from-cluster: listing nodes") { page in
            if page.startsOver { items.removeAll() }
            items += page.items
        }
        do {
            return try JSONDecoder().decode(ExtenderNodeList.self, from: Data(JSONValue.object(["items": .array(items)]).serialized)).items
        } catch {
            throw CommandFailure("--from-cluster: the API did not answer with a NodeList")
        }
    }

    /// The nodes of a `NodeList` (as `kubectl get nodes -o json` prints it) or of a single `Node`.
    static func readNodesFile(_ path: String) throws -> [ExtenderNode] {
        let data: Data
        do {
            // Node lists of large clusters reach some megabytes: 64 MiB is far above them.
            data = Data(try UserFile(path: path, maxBytes: 64 << 20).bytes)
        } catch {
            throw CommandFailure("--nodes-file: cannot read \(path): \(error.problem)")
        }
        do {
            let json = try JSONDecoder().decode(JSONValue.self, from: data)
            if json["kind"]?.string == "Node" {
                return [try JSONDecoder().decode(ExtenderNode.self, from: data)]
            }
            guard json["items"] != nil else {
                throw CommandFailure("--nodes-file: \(path): neither a NodeList (no \"items\") nor a Node")
            }
            return try JSONDecoder().decode(ExtenderNodeList.self, from: data).items
        } catch let failure as CommandFailure {
            throw failure
        } catch let DecodingError.dataCorrupted(context) {
            throw CommandFailure("--nodes-file: \(path): \(context.debugDescription)")
        } catch {
            throw CommandFailure("--nodes-file: \(path): not valid JSON")
        }
    }
}
