internal import CYaml

/// Composes the first (and only) document of a YAML text into ``YAMLNode``s, straight from
/// libyaml's events, enforcing ``YAMLLimits`` as it goes.
///
/// Composing here rather than through Yams' `compose` is what makes the limits hold: Yams
/// checks every mapping for duplicate keys by hashing the key nodes, so a key that is an alias
/// of a large expansion (`? *x7 : 1`) is walked in full, 10^7 nodes for a 390-byte file, inside
/// the call. Here keys must be single values, duplicates are found by their text, and each
/// alias costs what its anchor's size says, known when the anchor closed.
final class YAMLComposer {
    /// A collection being read.
    private struct Frame {
        let isMapping: Bool
        let anchor: String?
        let mark: YAMLMark
        var items: [YAMLNode] = []
        var entries: [YAMLEntry] = []
        var keys: Set<String> = []
        /// The key read last, waiting for its value.
        var pendingKey: (text: String, mark: YAMLMark)?
        /// Nodes in the collection, itself included and aliases expanded.
        var size = 1
        /// Levels from the collection down to its deepest value, aliases expanded.
        var height = 1
    }

    /// A node that closed, with its expanded size and height.
    private struct Finished {
        let node: YAMLNode
        let size: Int
        let height: Int
    }

    private let limits: YAMLLimits
    private var parser = yaml_parser_t()
    private var stack: [Frame] = []
    private var anchors: [String: Finished] = [:]
    private var root: YAMLNode?
    /// Nodes written out in the text (aliases not counted).
    private var written = 0
    /// Nodes that aliases added.
    private var aliasNodes = 0

    private init(limits: YAMLLimits) {
        self.limits = limits
    }

    /// The document's root node; nil when the text holds no document (empty, or comments only).
    static func compose(_ text: String, limits: YAMLLimits) throws(KeyPathError) -> YAMLNode? {
        let composer = YAMLComposer(limits: limits)
        return try composer.run(Array(text.utf8))
    }

    private func run(_ bytes: [UInt8]) throws(KeyPathError) -> YAMLNode? {
        guard yaml_parser_initialize(&parser) == 1 else { throw KeyPathError("", "not valid YAML (out of memory)") }
        defer { yaml_parser_delete(&parser) }
        // libyaml reads the buffer while events are pulled, so it lives until the end.
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        defer { buffer.deallocate() }
        _ = buffer.initialize(from: bytes)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, buffer.baseAddress, bytes.count)
        var documents = 0
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw syntaxError() }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                guard documents == 1 else {
                    throw KeyPathError(
                        "",
                        "not valid YAML (a second document starts at \(Self.mark(event.start_mark)); give one per file)"
                    )
                }
            case YAML_SCALAR_EVENT:
                try scalar(event)
            case YAML_SEQUENCE_START_EVENT:
                try open(isMapping: false, anchor: Self.string(event.data.sequence_start.anchor), event: event)
            case YAML_MAPPING_START_EVENT:
                try open(isMapping: true, anchor: Self.string(event.data.mapping_start.anchor), event: event)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                try close()
            case YAML_ALIAS_EVENT:
                try alias(event)
            default:
                break  // stream start, document end
            }
        }
    }

    // MARK: - Events

    private func scalar(_ event: yaml_event_t) throws(KeyPathError) {
        let data = event.data.scalar
        let text =
            data.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: data.length), as: UTF8.self) } ?? ""
        let style: YAMLScalar.Style =
            switch data.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE, YAML_DOUBLE_QUOTED_SCALAR_STYLE: .quoted
            case YAML_LITERAL_SCALAR_STYLE, YAML_FOLDED_SCALAR_STYLE: .block
            default: .plain
            }
        written += 1
        let node = YAMLNode(
            .scalar(YAMLScalar(text, style: style, tag: Self.string(data.tag))), mark: Self.mark(event.start_mark))
        try add(Finished(node: node, size: 1, height: 1), anchor: Self.string(data.anchor))
    }

    private func open(isMapping: Bool, anchor: String?, event: yaml_event_t) throws(KeyPathError) {
        written += 1
        let mark = Self.mark(event.start_mark)
        // The new collection's values sit one level below it.
        guard stack.count + 2 <= limits.maxDepth else {
            throw KeyPathError(path(), "nested deeper than \(limits.maxDepth) levels (\(mark))")
        }
        stack.append(Frame(isMapping: isMapping, anchor: anchor, mark: mark))
    }

    private func close() throws(KeyPathError) {
        guard let frame = stack.popLast() else { return }
        let node = YAMLNode(frame.isMapping ? .mapping(frame.entries) : .sequence(frame.items), mark: frame.mark)
        try add(Finished(node: node, size: frame.size, height: frame.height), anchor: frame.anchor)
    }

    private func alias(_ event: yaml_event_t) throws(KeyPathError) {
        let name = Self.string(event.data.alias.anchor) ?? ""
        let mark = Self.mark(event.start_mark)
        guard let target = anchors[name] else {
            throw KeyPathError(path(), "alias *\(name) names no anchor before it (\(mark))")
        }
        let (sum, overflow) = aliasNodes.addingReportingOverflow(target.size)
        aliasNodes = overflow ? Int.max : sum
        guard aliasNodes <= max(limits.maxAliasNodes, written) else {
            throw KeyPathError(
                path(),
                "aliases repeat more than \(max(limits.maxAliasNodes, written)) nodes (\(mark)); refused as an alias bomb"
            )
        }
        guard stack.count + target.height <= limits.maxDepth else {
            throw KeyPathError(
                path(), "alias *\(name) nests the document deeper than \(limits.maxDepth) levels (\(mark))")
        }
        try add(target, anchor: nil)
    }

    /// Puts a closed node into its collection (or makes it the root) and records its anchor.
    private func add(_ finished: Finished, anchor: String?) throws(KeyPathError) {
        if let anchor { anchors[anchor] = finished }
        guard !stack.isEmpty else {
            root = finished.node
            return
        }
        let last = stack.count - 1
        if stack[last].isMapping, stack[last].pendingKey == nil {
            // A key: one value, each at most once, so a mapping never needs its keys hashed
            // as trees (and `a: 1` twice is refused instead of one value silently winning).
            guard case .scalar(let key) = finished.node.content else {
                throw KeyPathError(path(), "keys must be plain strings (\(finished.node.mark))")
            }
            guard stack[last].keys.insert(key.text).inserted else {
                let parent = path()
                throw KeyPathError(
                    parent.isEmpty ? key.text : "\(parent).\(key.text)", "given twice (\(finished.node.mark))")
            }
            stack[last].pendingKey = (key.text, finished.node.mark)
        } else if let key = stack[last].pendingKey {
            stack[last].entries.append(YAMLEntry(key: key.text, keyMark: key.mark, value: finished.node))
            stack[last].pendingKey = nil
        } else {
            stack[last].items.append(finished.node)
        }
        let (size, overflow) = stack[last].size.addingReportingOverflow(finished.size)
        stack[last].size = overflow ? Int.max : size
        stack[last].height = max(stack[last].height, finished.height + 1)
    }

    // MARK: - Messages

    /// The key path of the value being read: `plugs[2].address`.
    private func path() -> String {
        var path = ""
        for frame in stack {
            if !frame.isMapping {
                path += "[\(frame.items.count)]"
            } else if let key = frame.pendingKey {
                path += path.isEmpty ? key.text : ".\(key.text)"
            } else {
                break  // reading a key: the mapping's own path names it
            }
        }
        return path
    }

    /// libyaml's report in one line: `line 3, column 4: did not find expected '-' indicator,
    /// while parsing a block collection at line 2, column 3`.
    private func syntaxError() -> KeyPathError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
        let detail: String
        switch parser.error {
        case YAML_MEMORY_ERROR:
            detail = "out of memory"
        case YAML_READER_ERROR:
            detail = "byte \(parser.problem_offset): \(problem)"
        default:
            let context = parser.context.map { ", \(String(cString: $0)) at \(Self.mark(parser.context_mark))" } ?? ""
            detail = "\(Self.mark(parser.problem_mark)): \(problem)\(context)"
        }
        return KeyPathError("", "not valid YAML (\(detail))")
    }

    private static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(clamping: mark.line) &+ 1, column: Int(clamping: mark.column) &+ 1)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
