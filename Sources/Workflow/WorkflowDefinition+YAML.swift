import EnergyModel
import Foundation
import JSON
import Yams

extension WorkflowDefinition {
    /// Reads a workflow file. Unknown keys, missing values and bad values are refused with
    /// the key path (`phases[1].resources.limits.memory: "lots" is not a quantity`).
    public init(contentsOfFile path: String) throws(WorkflowFileError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = (error as? CocoaError)?.code == .fileReadNoSuchFile ? "no such file" : "cannot read it"
            throw WorkflowFileError(file: path, path: "", message: reason)
        }
        try self.init(yaml: text, file: path)
    }

    /// Parses workflow YAML; `file` only names it in errors.
    public init(yaml: String, file: String) throws(WorkflowFileError) {
        let reader = WorkflowReader(file: file)
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else { throw reader.error("", "is empty") }
            root = composed
        } catch let error as WorkflowFileError {
            throw error
        } catch {
            throw reader.error("", "is not valid YAML (\(WorkflowFileError.oneLine("\(error)", limit: 120)))")
        }
        let fields = try reader.fields(
            root, path: "",
            known: ["name", "namespace", "nodes", "probeImage", "ttlSecondsAfterFinished", "volumes", "phases"])
        guard let nameNode = fields["name"] else { throw reader.error("name", "missing") }
        name = try reader.string(nameNode, path: "name")
        guard WorkflowReader.isDNSLabel(name), name.count <= 30 else {
            throw reader.error("name", "\"\(name)\" must be a DNS label (a-z, 0-9, -) of at most 30 characters")
        }
        namespace = "default"
        if let node = fields["namespace"] {
            namespace = try reader.string(node, path: "namespace")
            guard WorkflowReader.isDNSLabel(namespace) else {
                throw reader.error("namespace", "\"\(namespace)\" is not a DNS label")
            }
        }
        nodeVariants = [:]
        if let node = fields["nodes"] {
            let mapping = try reader.mapping(node, path: "nodes")
            for (key, value) in mapping {
                let nodeName = try reader.string(key, path: "nodes")
                let path = "nodes.\(nodeName)"
                guard WorkflowReader.isDNSSubdomain(nodeName) else {
                    throw reader.error(path, "\"\(nodeName)\" is not a node name")
                }
                let variants = try reader.stringList(value, path: path)
                guard !variants.isEmpty else { throw reader.error(path, "list at least one variant") }
                for variant in variants where !WorkflowReader.isVariantName(variant) {
                    throw reader.error(path, "\"\(variant)\" is not a variant name (a-z, 0-9, -)")
                }
                nodeVariants[nodeName] = variants
            }
        }
        probeImage = WorkflowDefinition.defaultProbeImage
        if let node = fields["probeImage"] { probeImage = try reader.image(node, path: "probeImage") }
        ttlSecondsAfterFinished = 3600
        if let node = fields["ttlSecondsAfterFinished"] {
            ttlSecondsAfterFinished = try reader.integer(node, path: "ttlSecondsAfterFinished", range: 0...31_536_000)
        }
        volumes = []
        if let node = fields["volumes"] { volumes = try reader.objectList(node, path: "volumes") }
        guard let phasesNode = fields["phases"] else { throw reader.error("phases", "missing") }
        guard let sequence = phasesNode.sequence, !sequence.isEmpty else {
            throw reader.error("phases", "must be a non-empty list")
        }
        phases = []
        for (index, node) in sequence.enumerated() {
            let phase = try reader.phase(node, path: "phases[\(index)]", nodeVariants: nodeVariants)
            if phases.contains(where: { $0.name == phase.name }) {
                throw reader.error("phases[\(index)].name", "\"\(phase.name)\" is given twice")
            }
            // `<workflow>-<phase>-<run id>-probe` is a Job name and a label value: 63 at most.
            guard name.count + phase.name.count + 2 + WorkflowRun.idLength + 6 <= 63 else {
                throw reader.error(
                    "phases[\(index)].name",
                    "\"\(phase.name)\" is too long with workflow name \"\(name)\" (Job names have at most 63 characters)"
                )
            }
            phases.append(phase)
        }
    }
}

/// Typed access to the YAML nodes of a workflow file, with the key path in every error.
struct WorkflowReader {
    let file: String

    func error(_ path: String, _ message: String) -> WorkflowFileError {
        WorkflowFileError(file: file, path: path, message: message)
    }

    func mapping(_ node: Node, path: String) throws(WorkflowFileError) -> Node.Mapping {
        guard let mapping = node.mapping else { throw error(path, "must be a mapping") }
        return mapping
    }

    /// The mapping's values by key, refusing keys not in `known` and keys given twice.
    func fields(_ node: Node, path: String, known: [String]) throws(WorkflowFileError) -> [String: Node] {
        var result: [String: Node] = [:]
        for (keyNode, value) in try mapping(node, path: path) {
            guard let key = keyNode.scalar?.string else { throw error(path, "keys must be plain strings") }
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard known.contains(key) else {
                throw error(keyPath, "unknown key (known: \(known.joined(separator: ", ")))")
            }
            guard result[key] == nil else { throw error(keyPath, "given twice") }
            result[key] = value
        }
        return result
    }

    func string(_ node: Node, path: String) throws(WorkflowFileError) -> String {
        guard let scalar = node.scalar else { throw error(path, "must be a single value") }
        let value = scalar.string.trimmingSpaces()
        guard !value.isEmpty else { throw error(path, "must not be empty") }
        return value
    }

    /// A scalar kept as written (command arguments may be empty or have spaces).
    func rawString(_ node: Node, path: String) throws(WorkflowFileError) -> String {
        guard let scalar = node.scalar else { throw error(path, "must be a single value") }
        return scalar.string
    }

    func stringList(_ node: Node, path: String) throws(WorkflowFileError) -> [String] {
        guard let sequence = node.sequence else { throw error(path, "must be a list") }
        var values: [String] = []
        for (index, item) in sequence.enumerated() { values.append(try string(item, path: "\(path)[\(index)]")) }
        return values
    }

    func integer(_ node: Node, path: String, range: ClosedRange<Int>) throws(WorkflowFileError) -> Int {
        let text = try string(node, path: path)
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), range.contains(value) else {
            throw error(path, "must be an integer in \(range.lowerBound)...\(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    func image(_ node: Node, path: String) throws(WorkflowFileError) -> String {
        let reference = try string(node, path: path)
        guard !reference.contains(where: { $0.isWhitespace }), reference.count <= 512, !reference.hasPrefix("-") else {
            throw error(path, "\"\(reference)\" is not an image reference")
        }
        return reference
    }

    /// A list of mappings passed to Kubernetes as written (volumes, volume mounts).
    func objectList(_ node: Node, path: String) throws(WorkflowFileError) -> [JSONValue] {
        guard let sequence = node.sequence else { throw error(path, "must be a list") }
        var values: [JSONValue] = []
        for (index, item) in sequence.enumerated() {
            guard item.mapping != nil else { throw error("\(path)[\(index)]", "must be a mapping") }
            values.append(try json(item, path: "\(path)[\(index)]"))
        }
        return values
    }

    /// A YAML node as JSON (YAML 1.2 core schema scalars).
    func json(_ node: Node, path: String) throws(WorkflowFileError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if scalar.string == "null" || scalar.string == "~" || scalar.string.isEmpty { return .null }
                if let value = Bool.construct(from: scalar) { return .bool(value) }
                if let value = Int.construct(from: scalar), let exact = Int64(exactly: value) { return .integer(exact) }
                if let value = Double.construct(from: scalar), value.isFinite { return .double(value) }
            }
            return .string(scalar.string)
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw error(path, "keys must be plain strings") }
                object[name] = try json(value, path: "\(path).\(name)")
            }
            return .object(object)
        case .sequence(let sequence):
            var array: [JSONValue] = []
            for (index, item) in sequence.enumerated() { array.append(try json(item, path: "\(path)[\(index)]")) }
            return .array(array)
        case .alias:
            throw error(path, "YAML aliases are not supported")
        }
    }

    func phase(_ node: Node, path: String, nodeVariants: [String: [String]]) throws(WorkflowFileError)
        -> WorkflowDefinition.Phase
    {
        let fields = try fields(
            node, path: path,
            known: [
                "name", "profile", "image", "images", "command", "args", "env", "resources", "volumeMounts", "timeout",
                "backoffLimit", "work",
            ])
        guard let nameNode = fields["name"] else { throw error("\(path).name", "missing") }
        let name = try string(nameNode, path: "\(path).name")
        guard Self.isDNSLabel(name) else {
            throw error("\(path).name", "\"\(name)\" must be a DNS label (a-z, 0-9, -)")
        }
        guard let profileNode = fields["profile"] else {
            throw error("\(path).profile", "missing (the workload-profile label)")
        }
        let profile = try string(profileNode, path: "\(path).profile")
        guard Self.isLabelValue(profile) else { throw error("\(path).profile", "\"\(profile)\" is not a label value") }
        var phase = WorkflowDefinition.Phase(
            name: name, profile: profile, image: nil, images: [:], command: [], args: [], environment: [:],
            resources: .init(), volumeMounts: [], timeoutMilliseconds: nil, backoffLimit: 0)
        if let node = fields["image"] { phase.image = try image(entry: node, path: "\(path).image") }
        if let node = fields["images"] {
            for (key, value) in try mapping(node, path: "\(path).images") {
                let variant = try string(key, path: "\(path).images")
                guard Self.isVariantName(variant) else {
                    throw error("\(path).images", "\"\(variant)\" is not a variant name (a-z, 0-9, -)")
                }
                phase.images[variant] = try image(entry: value, path: "\(path).images.\(variant)")
            }
            guard !phase.images.isEmpty else { throw error("\(path).images", "must name at least one variant") }
            let served = Set(nodeVariants.values.joined())
            for variant in phase.images.keys.sorted() where !served.contains(variant) {
                throw error("\(path).images.\(variant)", "no node runs variant \"\(variant)\" (list it under nodes:)")
            }
        }
        guard phase.image != nil || !phase.images.isEmpty else { throw error(path, "give image or images") }
        if let node = fields["command"] {
            phase.command = try rawList(node, path: "\(path).command")
            guard !phase.command.isEmpty, !phase.command[0].isEmpty else {
                throw error("\(path).command", "must name a program")
            }
        }
        if let node = fields["args"] { phase.args = try rawList(node, path: "\(path).args") }
        if let node = fields["env"] {
            for (key, value) in try mapping(node, path: "\(path).env") {
                let variable = try string(key, path: "\(path).env")
                guard Self.isEnvironmentName(variable) else {
                    throw error("\(path).env.\(variable)", "is not a variable name")
                }
                phase.environment[variable] = try rawString(value, path: "\(path).env.\(variable)")
            }
        }
        if let node = fields["resources"] { phase.resources = try resources(node, path: "\(path).resources") }
        if let node = fields["volumeMounts"] { phase.volumeMounts = try objectList(node, path: "\(path).volumeMounts") }
        if let node = fields["timeout"] {
            let text = try string(node, path: "\(path).timeout")
            do {
                let value = try DurationParsing.milliseconds(text)
                guard value >= 1000 else { throw error("\(path).timeout", "must be at least 1s") }
                phase.timeoutMilliseconds = value
            } catch let failure as WorkflowFileError {
                throw failure
            } catch {
                throw self.error("\(path).timeout", "\(error)")
            }
        }
        if let node = fields["backoffLimit"] {
            phase.backoffLimit = try integer(node, path: "\(path).backoffLimit", range: 0...100)
        }
        if let node = fields["work"] { phase.work = try work(node, path: "\(path).work") }
        return phase
    }

    /// `work: {units: 56.2e6, ratePer: 1ms}`: the phase's amount of work in the knowledge
    /// base's units, which rates it per `ratePer`.
    private func work(_ node: Node, path: String) throws(WorkflowFileError) -> WorkflowDefinition.Work {
        let fields = try fields(node, path: path, known: ["units", "ratePer"])
        guard let unitsNode = fields["units"] else { throw error("\(path).units", "missing (the amount of work)") }
        let text = try string(unitsNode, path: "\(path).units")
        // Decimal notation only (no hex, no inf or nan), within what a run can take.
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }), let units = Double(text),
            units.isFinite, units > 0, units <= 1e18
        else {
            throw error("\(path).units", "must be a number above 0 and at most 1e18, not \"\(text)\"")
        }
        var ratePer: Int64 = 1000
        if let rateNode = fields["ratePer"] {
            let rateText = try string(rateNode, path: "\(path).ratePer")
            do {
                ratePer = try DurationParsing.milliseconds(rateText)
            } catch {
                throw self.error("\(path).ratePer", "\(error)")
            }
            guard ratePer >= 1, ratePer <= 86_400_000 else { throw error("\(path).ratePer", "must be within 1ms...1d") }
        }
        return WorkflowDefinition.Work(units: units, ratePerMilliseconds: ratePer)
    }

    private func rawList(_ node: Node, path: String) throws(WorkflowFileError) -> [String] {
        guard let sequence = node.sequence else { throw error(path, "must be a list, e.g. [python3, train.py]") }
        var values: [String] = []
        for (index, item) in sequence.enumerated() { values.append(try rawString(item, path: "\(path)[\(index)]")) }
        return values
    }

    /// `image: ref`, or `{image: ref, resources: ..., runtimeClassName: ...}`.
    private func image(entry node: Node, path: String) throws(WorkflowFileError) -> WorkflowDefinition.Image {
        if node.scalar != nil { return WorkflowDefinition.Image(reference: try image(node, path: path)) }
        let fields = try fields(node, path: path, known: ["image", "resources", "runtimeClassName"])
        guard let reference = fields["image"] else { throw error("\(path).image", "missing") }
        var result = WorkflowDefinition.Image(reference: try image(reference, path: "\(path).image"))
        if let resources = fields["resources"] {
            result.resources = try self.resources(resources, path: "\(path).resources")
        }
        if let runtime = fields["runtimeClassName"] {
            let name = try string(runtime, path: "\(path).runtimeClassName")
            guard Self.isDNSSubdomain(name) else {
                throw error("\(path).runtimeClassName", "\"\(name)\" is not a valid name")
            }
            result.runtimeClassName = name
        }
        return result
    }

    private func resources(_ node: Node, path: String) throws(WorkflowFileError) -> WorkflowDefinition.Resources {
        let fields = try fields(node, path: path, known: ["requests", "limits"])
        var result = WorkflowDefinition.Resources()
        for key in ["requests", "limits"] {
            guard let part = fields[key] else { continue }
            var values: [String: String] = [:]
            for (nameNode, valueNode) in try mapping(part, path: "\(path).\(key)") {
                let name = try string(nameNode, path: "\(path).\(key)")
                let valuePath = "\(path).\(key).\(name)"
                guard Self.isResourceName(name) else { throw error(valuePath, "\"\(name)\" is not a resource name") }
                let quantity = try string(valueNode, path: valuePath)
                guard Self.isQuantity(quantity) else {
                    throw error(valuePath, "\"\(quantity)\" is not a quantity (e.g. 500m, 2, 1Gi)")
                }
                values[name] = quantity
            }
            if key == "requests" { result.requests = values } else { result.limits = values }
        }
        return result
    }

    // MARK: - Kubernetes name rules

    static func isDNSLabel(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 63, let first = name.first, let last = name.last,
            first.isASCII && (first.isLowercase || first.isNumber), last.isASCII && (last.isLowercase || last.isNumber)
        else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    static func isDNSSubdomain(_ name: String) -> Bool {
        name.utf8.count <= 253 && !name.isEmpty
            && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    static func isVariantName(_ name: String) -> Bool { isDNSLabel(name) }

    /// Label values: at most 63 of `A-Z a-z 0-9 - _ .`, starting and ending alphanumeric.
    static func isLabelValue(_ value: String) -> Bool {
        guard value.utf8.count <= 63, let first = value.first, let last = value.last,
            first.isASCII && (first.isLetter || first.isNumber), last.isASCII && (last.isLetter || last.isNumber)
        else { return false }
        return value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.first, !first.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }

    /// `cpu`, `memory`, `ephemeral-storage`, `nvidia.com/gpu`, `hugepages-2Mi`.
    static func isResourceName(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let last = parts.last, !last.isEmpty, last.count <= 63 else { return false }
        if parts.count == 2, !isDNSSubdomain(String(parts[0])) { return false }
        return last.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    /// A Kubernetes quantity: a decimal number with an optional SI or binary suffix or an
    /// exponent (`500m`, `1.5`, `2Gi`, `1e3`).
    static func isQuantity(_ text: String) -> Bool {
        var number = Substring(text)
        if number.hasPrefix("+") { number = number.dropFirst() }
        for suffix in ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"]
        where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            break
        }
        if let e = number.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let exponent = number[number.index(after: e)...]
            guard !exponent.isEmpty,
                exponent.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy({ $0.isASCII && $0.isNumber })
            else {
                return false
            }
            number = number[..<e]
        }
        let pieces = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, pieces.count <= 2, pieces.contains(where: { !$0.isEmpty }) else { return false }
        return pieces.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}
