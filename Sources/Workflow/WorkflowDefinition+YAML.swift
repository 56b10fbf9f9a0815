import EnergyModel
import Foundation
import JSON
import UserInput

extension WorkflowDefinition {
    /// Reads a workflow file. Unknown keys, missing values and bad values are refused with
    /// the key path (`phases[1].resources.limits.memory: "lots" is not a quantity`).
    public init(contentsOfFile path: String) throws(WorkflowFileError) {
        let root = try YAMLDocument.read(path: path)
        do {
            try self.init(root)
        } catch {
            throw error.located(in: path)
        }
    }

    /// Parses workflow YAML; `file` only names it in errors.
    public init(yaml: String, file: String) throws(WorkflowFileError) {
        do {
            try self.init(try YAMLDocument.parse(yaml))
        } catch {
            throw error.located(in: file)
        }
    }

    private init(_ document: YAMLValue?) throws(KeyPathError) {
        let reader = WorkflowReader()
        guard let root = document else { throw KeyPathError("", "is empty") }
        let fields = try root.fields(
            known: ["name", "namespace", "nodes", "probeImage", "ttlSecondsAfterFinished", "volumes", "phases"])
        let nameValue = try fields.required("name")
        name = try nameValue.string()
        guard WorkflowReader.isDNSLabel(name), name.count <= 30 else {
            throw nameValue.error("\"\(name)\" must be a DNS label (a-z, 0-9, -) of at most 30 characters")
        }
        namespace = "default"
        if let value = fields["namespace"] {
            namespace = try value.string()
            guard WorkflowReader.isDNSLabel(namespace) else { throw value.error("\"\(namespace)\" is not a DNS label") }
        }
        nodeVariants = [:]
        if let value = fields["nodes"] {
            for (nodeName, entry) in try value.entries() {
                guard WorkflowReader.isDNSSubdomain(nodeName) else {
                    throw entry.error("\"\(nodeName)\" is not a node name")
                }
                let variants = try entry.stringList()
                guard !variants.isEmpty else { throw entry.error("list at least one variant") }
                for variant in variants where !WorkflowReader.isVariantName(variant) {
                    throw entry.error("\"\(variant)\" is not a variant name (a-z, 0-9, -)")
                }
                nodeVariants[nodeName] = variants
            }
        }
        probeImage = WorkflowDefinition.defaultProbeImage
        if let value = fields["probeImage"] { probeImage = try reader.image(value) }
        ttlSecondsAfterFinished = 3600
        if let value = fields["ttlSecondsAfterFinished"] {
            ttlSecondsAfterFinished = try value.integer(in: 0...31_536_000)
            guard ttlSecondsAfterFinished >= WorkflowDefinition.minimumTTLSeconds else {
                throw value.error(
                    "must be at least \(WorkflowDefinition.minimumTTLSeconds): with \(ttlSecondsAfterFinished), Kubernetes "
                        + "deletes a finished Job and its pod before the runner has read the pod's node and times")
            }
        }
        volumes = []
        if let value = fields["volumes"] { volumes = try reader.objectList(value) }
        let phasesValue = try fields.required("phases")
        guard let sequence = try? phasesValue.list(), !sequence.isEmpty else {
            throw phasesValue.error("must be a non-empty list")
        }
        phases = []
        for value in sequence {
            let phase = try reader.phase(value, nodeVariants: nodeVariants)
            let namePath = value.path(of: "name")
            if phases.contains(where: { $0.name == phase.name }) {
                throw KeyPathError(namePath, "\"\(phase.name)\" is given twice")
            }
            // `<workflow>-<phase>-<run id>-probe` is a Job name and a label value: 63 at most.
            guard name.count + phase.name.count + 2 + WorkflowRun.idLength + 6 <= 63 else {
                throw KeyPathError(
                    namePath,
                    "\"\(phase.name)\" is too long with workflow name \"\(name)\" (Job names have at most 63 characters)"
                )
            }
            phases.append(phase)
        }
    }
}

/// The parts of a workflow file, read from ``YAMLValue``s with the key path in every error.
struct WorkflowReader {
    func image(_ value: YAMLValue) throws(KeyPathError) -> String {
        let reference = try value.string()
        guard !reference.contains(where: { $0.isWhitespace }), reference.count <= 512, !reference.hasPrefix("-") else {
            throw value.error("\"\(reference)\" is not an image reference")
        }
        return reference
    }

    /// A list of mappings passed to Kubernetes as written (volumes, volume mounts).
    func objectList(_ value: YAMLValue) throws(KeyPathError) -> [JSONValue] {
        var values: [JSONValue] = []
        for item in try value.list() {
            guard case .mapping = item.node.content else { throw item.error("must be a mapping") }
            values.append(try json(item))
        }
        return values
    }

    /// A YAML value as JSON. Its size and depth are bounded by ``YAMLLimits``, aliases included.
    func json(_ value: YAMLValue) throws(KeyPathError) -> JSONValue {
        switch value.node.content {
        case .scalar(let scalar):
            switch scalar.typed {
            case .null: return .null
            case .bool(let flag): return .bool(flag)
            case .integer(let number): return .integer(number)
            case .double(let number): return .double(number)
            case .string(let text): return .string(text)
            }
        case .mapping:
            var object: [String: JSONValue] = [:]
            for (key, member) in try value.entries() { object[key] = try json(member) }
            return .object(object)
        case .sequence:
            var array: [JSONValue] = []
            for item in try value.list() { array.append(try json(item)) }
            return .array(array)
        }
    }

    func phase(_ value: YAMLValue, nodeVariants: [String: [String]]) throws(KeyPathError) -> WorkflowDefinition.Phase {
        let fields = try value.fields(
            known: [
                "name", "profile", "image", "images", "command", "args", "env", "resources", "volumeMounts", "timeout",
                "backoffLimit", "work",
            ])
        let nameValue = try fields.required("name")
        let name = try nameValue.string()
        guard Self.isDNSLabel(name) else { throw nameValue.error("\"\(name)\" must be a DNS label (a-z, 0-9, -)") }
        let profileValue = try fields.required("profile", "the workload-profile label")
        let profile = try profileValue.string()
        guard Self.isLabelValue(profile) else { throw profileValue.error("\"\(profile)\" is not a label value") }
        var phase = WorkflowDefinition.Phase(
            name: name, profile: profile, image: nil, images: [:], command: [], args: [], environment: [:],
            resources: .init(), volumeMounts: [], timeoutMilliseconds: nil, backoffLimit: 0)
        if let entry = fields["image"] { phase.image = try image(entry: entry) }
        if let images = fields["images"] {
            for (variant, entry) in try images.entries() {
                guard Self.isVariantName(variant) else {
                    throw images.error("\"\(variant)\" is not a variant name (a-z, 0-9, -)")
                }
                phase.images[variant] = try image(entry: entry)
            }
            guard !phase.images.isEmpty else { throw images.error("must name at least one variant") }
            let served = Set(nodeVariants.values.joined())
            for variant in phase.images.keys.sorted() where !served.contains(variant) {
                throw KeyPathError(
                    images.path(of: variant), "no node runs variant \"\(variant)\" (list it under nodes:)")
            }
        }
        guard phase.image != nil || !phase.images.isEmpty else { throw value.error("give image or images") }
        if let command = fields["command"] {
            phase.command = try rawList(command)
            guard !phase.command.isEmpty, !phase.command[0].isEmpty else { throw command.error("must name a program") }
        }
        if let args = fields["args"] { phase.args = try rawList(args) }
        if let environment = fields["env"] {
            for (variable, entry) in try environment.entries() {
                guard Self.isEnvironmentName(variable) else { throw entry.error("is not a variable name") }
                phase.environment[variable] = try entry.rawString()
            }
        }
        if let resources = fields["resources"] { phase.resources = try self.resources(resources) }
        if let mounts = fields["volumeMounts"] { phase.volumeMounts = try objectList(mounts) }
        if let timeout = fields["timeout"] { phase.timeoutMilliseconds = try timeout.duration(atLeast: 1000) }
        if let limit = fields["backoffLimit"] { phase.backoffLimit = try limit.integer(in: 0...100) }
        if let work = fields["work"] { phase.work = try self.work(work) }
        return phase
    }

    /// `work: {units: 56.2e6, ratePer: 1ms}`: the phase's amount of work in the knowledge
    /// base's units, which rates it per `ratePer`.
    private func work(_ value: YAMLValue) throws(KeyPathError) -> WorkflowDefinition.Work {
        let fields = try value.fields(known: ["units", "ratePer"])
        let unitsValue = try fields.required("units", "the amount of work")
        // Decimal notation only (no hex, no inf or nan), within what a run can take.
        let units = try unitsValue.number(in: 0...1e18, expected: "above 0 and at most 1e18")
        guard units > 0 else {
            throw unitsValue.error(
                "must be a number above 0 and at most 1e18, not \"\((try? unitsValue.string()) ?? "")\"")
        }
        var ratePer: Int64 = 1000
        if let rate = fields["ratePer"] { ratePer = try rate.duration(atLeast: 1, atMost: 86_400_000) }
        return WorkflowDefinition.Work(units: units, ratePerMilliseconds: ratePer)
    }

    private func rawList(_ value: YAMLValue) throws(KeyPathError) -> [String] {
        var values: [String] = []
        for item in try value.list("e.g. [python3, train.py]") { values.append(try item.rawString()) }
        return values
    }

    /// `image: ref`, or `{image: ref, resources: ..., runtimeClassName: ...}`.
    private func image(entry value: YAMLValue) throws(KeyPathError) -> WorkflowDefinition.Image {
        if value.scalar != nil { return WorkflowDefinition.Image(reference: try image(value)) }
        let fields = try value.fields(known: ["image", "resources", "runtimeClassName"])
        var result = WorkflowDefinition.Image(reference: try image(try fields.required("image")))
        if let resources = fields["resources"] { result.resources = try self.resources(resources) }
        if let runtime = fields["runtimeClassName"] {
            let name = try runtime.string()
            guard Self.isDNSSubdomain(name) else { throw runtime.error("\"\(name)\" is not a valid name") }
            result.runtimeClassName = name
        }
        return result
    }

    private func resources(_ value: YAMLValue) throws(KeyPathError) -> WorkflowDefinition.Resources {
        let fields = try value.fields(known: ["requests", "limits"])
        var result = WorkflowDefinition.Resources()
        for key in ["requests", "limits"] {
            guard let part = fields[key] else { continue }
            var values: [String: String] = [:]
            for (name, entry) in try part.entries() {
                guard Self.isResourceName(name) else { throw entry.error("\"\(name)\" is not a resource name") }
                let quantity = try entry.string()
                guard Self.isQuantity(quantity) else {
                    throw entry.error("\"\(quantity)\" is not a quantity (e.g. 500m, 2, 1Gi)")
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
