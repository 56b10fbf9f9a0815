/// Consecutive samples packed into one row: of one node and one minute in the `chunk`
/// table (the form in which the store keeps every sample once its minute is complete), or
/// of one tick and many nodes in the `recent` table (with a per-sample node field).
///
/// Each field (node, time, milliwatts, centivolts, milliamperes, device milliwatt-hours) is
/// stored per row as `base`, `scale` and `width`, and per sample as an unsigned code `u` of
/// `width` bytes, so that `value = base + u * scale`. Time is stored as the residual
/// `ts - start - index * step` (step 0 in `recent`), which for a regular poll is only the
/// jitter. A field absent in the whole row has a NULL base; a constant field has width 0.
///
/// The codes are UTF-8 encoded code points, so the plain `sqlite3` shell decodes them with
/// its built-in `unicode(substr(data, position, width))` (see `Schema`): width 1 holds
/// 0...126 as the bytes 1...127, width 3 holds 0...53,247 as U+0800...U+D7FF, width 4 holds
/// 0...1,048,575 as U+10000...U+10FFFF.
struct SampleChunk: Equatable {
    /// How one field is stored in this chunk.
    struct Field: Equatable {
        /// The smallest value, or nil when the field is absent in every sample.
        var base: Int64?
        /// The common divisor of every value's distance from `base` (at least 1).
        var scale: Int64
        /// Bytes per sample: 0 (constant or absent), 1, 3 or 4.
        var width: Int

        static let absent = Field(base: nil, scale: 1, width: 0)
    }

    /// The layout of a row: with or without a per-sample node field.
    struct Layout: Equatable {
        /// Whether every sample carries its node (rows of `recent`).
        var perSampleNode: Bool
        /// Most samples per row.
        var maxSamples: Int
        /// Largest packed data per row.
        var maxDataBytes: Int

        /// One node's minute in `chunk`: rows small enough to stay out of overflow pages.
        static let nodeMinute = Layout(perSampleNode: false, maxSamples: 1024, maxDataBytes: 900)
        /// One tick of many nodes in `recent`.
        static let tick = Layout(perSampleNode: true, maxSamples: 4096, maxDataBytes: .max)

        /// The fields in storage order, by their column prefix.
        var fieldNames: [String] { perSampleNode ? ["node"] + SampleChunk.valueFieldNames : SampleChunk.valueFieldNames }
    }

    var startMilliseconds: Int64
    var stepMilliseconds: Int64
    var count: Int
    /// The fields of `layout.fieldNames`, in that order.
    var fields: [Field]
    var data: [UInt8]

    /// The fields every row stores, by their column prefix.
    static let valueFieldNames = ["t", "mw", "cv", "ma", "mwh"]
    /// Slot numbers in `chunk_slot`, which the views join with: at least every layout's maxSamples.
    static let slots = 4096

    var perSampleNode: Bool { fields.count == 6 }

    /// Bytes per sample.
    var stride: Int { fields.reduce(0) { $0 + $1.width } }
}

/// The per-sample codes: unsigned integers as UTF-8 encoded code points of a fixed width.
enum PackedCode {
    /// The largest code of a width.
    static func capacity(width: Int) -> Int64 {
        switch width {
        case 0: return 0
        case 1: return 126
        case 3: return 0xD7FF - 0x800
        default: return 0x10FFFF - 0x10000
        }
    }

    /// The narrowest width holding `largest`, or nil when even 4 bytes are too few.
    static func width(for largest: Int64) -> Int? {
        for width in [0, 1, 3, 4] where largest <= capacity(width: width) { return width }
        return nil
    }

    static func append(_ code: Int64, width: Int, to data: inout [UInt8]) {
        switch width {
        case 0:
            break
        case 1:
            data.append(UInt8(code + 1))
        case 3:
            let point = UInt32(code) + 0x800
            data.append(0xE0 | UInt8(point >> 12))
            data.append(0x80 | UInt8((point >> 6) & 0x3F))
            data.append(0x80 | UInt8(point & 0x3F))
        default:
            let point = UInt32(code) + 0x10000
            data.append(0xF0 | UInt8(point >> 18))
            data.append(0x80 | UInt8((point >> 12) & 0x3F))
            data.append(0x80 | UInt8((point >> 6) & 0x3F))
            data.append(0x80 | UInt8(point & 0x3F))
        }
    }

    static func read(_ data: UnsafeBufferPointer<UInt8>, at offset: Int, width: Int) -> Int64 {
        switch width {
        case 0:
            return 0
        case 1:
            return Int64(data[offset]) - 1
        case 3:
            let point = (UInt32(data[offset] & 0x0F) << 12) | (UInt32(data[offset + 1] & 0x3F) << 6) | UInt32(data[offset + 2] & 0x3F)
            return Int64(point) - 0x800
        default:
            let point = (UInt32(data[offset] & 0x07) << 18) | (UInt32(data[offset + 1] & 0x3F) << 12)
                | (UInt32(data[offset + 2] & 0x3F) << 6) | UInt32(data[offset + 3] & 0x3F)
            return Int64(point) - 0x10000
        }
    }
}

extension SampleChunk {
    /// Packs `samples` (sorted by time; distinct times per node; for `nodeMinute` all of one
    /// node and the same `presence`) into as few rows as the code widths and `layout` allow.
    static func pack(_ samples: ArraySlice<StoredSample>, stepMilliseconds: Int64, layout: Layout = .nodeMinute) -> [SampleChunk] {
        var chunks: [SampleChunk] = []
        var rest = samples
        while let chunk = first(of: rest, stepMilliseconds: stepMilliseconds, layout: layout) {
            chunks.append(chunk)
            rest = rest.dropFirst(chunk.count)
        }
        return chunks
    }

    /// The first row `pack` would make of `samples`, or nil for no samples.
    static func first(of samples: ArraySlice<StoredSample>, stepMilliseconds: Int64, layout: Layout = .nodeMinute) -> SampleChunk? {
        guard let start = samples.indices.first else { return nil }
        let end = extent(of: samples, from: start, step: stepMilliseconds, layout: layout)
        return make(samples[start..<end], step: stepMilliseconds, layout: layout)
    }

    /// Field `index` (of the layout's fields) of `sample` at `position` in a row starting at `first`.
    private static func value(_ index: Int, _ sample: StoredSample, position: Int, first: StoredSample, step: Int64, layout: Layout) -> Int64? {
        switch layout.perSampleNode ? index : index + 1 {
        case 0: return sample.node
        case 1: return sample.timestampMilliseconds - first.timestampMilliseconds - Int64(position) * step
        case 2: return sample.milliwatts
        case 3: return sample.centivolts
        case 4: return sample.milliamps
        default: return sample.deviceMilliwattHours
        }
    }

    /// The end of the longest run from `start` that one row can hold: the same fields
    /// present, every field's range within 4-byte codes, within the layout's limits.
    private static func extent(of samples: ArraySlice<StoredSample>, from start: Int, step: Int64, layout: Layout) -> Int {
        let count = layout.fieldNames.count
        let first = samples[start]
        var low = [Int64](repeating: 0, count: count), high = [Int64](repeating: 0, count: count)
        var present = [Bool](repeating: false, count: count)
        for field in 0..<count {
            if let value = value(field, first, position: 0, first: first, step: step, layout: layout) {
                present[field] = true
                low[field] = value
                high[field] = value
            }
        }
        var end = start + 1
        while end < samples.endIndex, end - start < layout.maxSamples {
            let sample = samples[end]
            var newLow = low, newHigh = high
            var fits = true
            var bytes = 0
            for field in 0..<count {
                let value = value(field, sample, position: end - start, first: first, step: step, layout: layout)
                guard (value != nil) == present[field] else {
                    fits = false
                    break
                }
                guard let value else { continue }
                newLow[field] = min(low[field], value)
                newHigh[field] = max(high[field], value)
                // The range bounds the code: scaling can only make it smaller.
                let (range, overflow) = newHigh[field].subtractingReportingOverflow(newLow[field])
                guard !overflow, let width = PackedCode.width(for: range) else {
                    fits = false
                    break
                }
                bytes += width
            }
            guard fits, bytes * (end - start + 1) <= layout.maxDataBytes else { break }
            low = newLow
            high = newHigh
            end += 1
        }
        return end
    }

    private static func make(_ samples: ArraySlice<StoredSample>, step: Int64, layout: Layout) -> SampleChunk {
        let first = samples[samples.startIndex]
        let count = layout.fieldNames.count
        var fields: [Field] = []
        var codes: [[Int64]] = []
        for field in 0..<count {
            let values = samples.enumerated().map { position, sample in
                value(field, sample, position: position, first: first, step: step, layout: layout)
            }
            guard let base = values.compactMap({ $0 }).min() else {
                fields.append(.absent)
                codes.append([])
                continue
            }
            let distances = values.map { ($0 ?? base) - base }
            var scale: Int64 = 0
            for distance in distances { scale = gcd(scale, distance) }
            scale = max(scale, 1)
            let scaled = distances.map { $0 / scale }
            // `extent` checked the range, so a width exists.
            fields.append(Field(base: base, scale: scale, width: PackedCode.width(for: scaled.max() ?? 0) ?? 4))
            codes.append(scaled)
        }
        var data: [UInt8] = []
        data.reserveCapacity(samples.count * fields.reduce(0) { $0 + $1.width })
        for position in 0..<samples.count {
            for field in 0..<count where fields[field].width > 0 {
                PackedCode.append(codes[field][position], width: fields[field].width, to: &data)
            }
        }
        return SampleChunk(startMilliseconds: first.timestampMilliseconds, stepMilliseconds: step, count: samples.count, fields: fields, data: data)
    }

    private static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var a = a.magnitude, b = b.magnitude
        while b != 0 { (a, b) = (b, a % b) }
        return Int64(a)
    }

    /// The samples of this row, oldest first; `node` for rows without a node field. A row
    /// that cannot be decoded (see `decoded`) throws.
    func samples(node: Int64 = 0) throws(StoredRowDefect) -> [StoredSample] {
        try decoded(node: node)
    }

    /// Checks what the row claims about itself before a byte is decoded: a sample count
    /// within its layout's, a start within the years 1 to 9999, a step of at most a day,
    /// widths that exist, scales of at least 1, a base wherever a field has codes, and data
    /// of exactly the length the widths and the count give.
    func checkShape() throws(StoredRowDefect) {
        let layout: Layout = perSampleNode ? .tick : .nodeMinute
        guard fields.count == layout.fieldNames.count else { throw StoredRowDefect("\(fields.count) fields") }
        guard (1...layout.maxSamples).contains(count) else {
            throw StoredRowDefect("sample count \(count) outside 1...\(layout.maxSamples)")
        }
        guard StoredSample.times.contains(startMilliseconds) else {
            throw StoredRowDefect("start \(startMilliseconds) ms outside the years 1 to 9999")
        }
        guard (0...Self.maxStepMilliseconds).contains(stepMilliseconds) else {
            throw StoredRowDefect("step \(stepMilliseconds) ms")
        }
        for (index, field) in fields.enumerated() {
            let name = layout.fieldNames[index]
            guard [0, 1, 3, 4].contains(field.width) else { throw StoredRowDefect("\(name)_width \(field.width)") }
            guard field.scale >= 1 else { throw StoredRowDefect("\(name)_scale \(field.scale)") }
            guard field.base != nil || field.width == 0 else { throw StoredRowDefect("\(name) has codes but no base") }
        }
        // At most 4,096 samples of at most 24 bytes: the product cannot overflow.
        guard data.count == stride * count else {
            throw StoredRowDefect("\(data.count) bytes of data for \(count) samples of \(stride) bytes")
        }
        guard fields[perSampleNode ? 2 : 1].base != nil else { throw StoredRowDefect("no power") }
        guard !perSampleNode || fields[0].base != nil else { throw StoredRowDefect("no node") }
    }

    /// The longest step a row may claim: a day (the poll interval is far shorter).
    static let maxStepMilliseconds: Int64 = 86_400_000

    /// The samples of this row, in stored order, with `only` just those of that node; `node`
    /// for rows without a node field. Every value is decoded with checked arithmetic: a row
    /// whose shape is wrong (`checkShape`), whose codes are not the encoding of their width,
    /// whose values overflow, or whose times or power lie outside what any sample can have
    /// (`StoredSample.times`, `StoredSample.milliwattRange`) throws, and yields no sample. An
    /// optional figure out of its range (a negative voltage) is left out of its sample.
    func decoded(node: Int64 = 0, only: Int64? = nil) throws(StoredRowDefect) -> [StoredSample] {
        try checkShape()
        let stride = self.stride
        let first = perSampleNode ? 1 : 0
        var offsets = [Int](repeating: 0, count: fields.count)
        var offset = 0
        for field in fields.indices {
            offsets[field] = offset
            offset += fields[field].width
        }
        var result: [StoredSample] = []
        result.reserveCapacity(count)
        let fields = self.fields
        let failure: StoredRowDefect? = data.withUnsafeBufferPointer { bytes -> StoredRowDefect? in
            for position in 0..<count {
                let row = position * stride
                var bad: String?
                func decode(_ field: Int) -> Int64? {
                    let layout = fields[field]
                    guard let base = layout.base else { return nil }
                    let code = PackedCode.read(bytes, at: row + offsets[field], width: layout.width)
                    guard code >= 0, code <= PackedCode.capacity(width: layout.width) else {
                        bad = "a code that is not a \(layout.width)-byte code"
                        return nil
                    }
                    let (scaled, overflow) = code.multipliedReportingOverflow(by: layout.scale)
                    let (value, carry) = base.addingReportingOverflow(scaled)
                    guard !overflow, !carry else {
                        bad = "a value beyond 64 bits"
                        return nil
                    }
                    return value
                }
                let sampleNode = perSampleNode ? decode(0) ?? node : node
                if bad == nil, let only, sampleNode != only { continue }
                let residual = decode(first) ?? 0
                let milliwatts = decode(first + 1)
                let centivolts = decode(first + 2)
                let milliamps = decode(first + 3)
                let deviceMilliwattHours = decode(first + 4)
                if let bad { return StoredRowDefect(bad) }
                // Position and step are bounded (`checkShape`), the residual is not.
                let nominal = startMilliseconds + Int64(position) * stepMilliseconds
                let (time, overflow) = nominal.addingReportingOverflow(residual)
                guard !overflow, StoredSample.times.contains(time) else {
                    return StoredRowDefect("a time outside the years 1 to 9999")
                }
                guard let milliwatts, StoredSample.milliwattRange.contains(milliwatts) else {
                    return StoredRowDefect("power \(milliwatts ?? 0) mW beyond any meter")
                }
                result.append(
                    StoredSample(
                        timestampMilliseconds: time,
                        milliwatts: milliwatts,
                        centivolts: centivolts.flatMap { $0 >= 0 ? $0 : nil },
                        milliamps: milliamps.flatMap { $0 >= 0 ? $0 : nil },
                        deviceMilliwattHours: deviceMilliwattHours.flatMap { $0 >= 0 ? $0 : nil },
                        node: sampleNode
                    )
                )
            }
            return nil
        }
        if let failure { throw failure }
        return result
    }
}
