import EnergyModel

/// A sample in the store's fixed-point units: unix milliseconds, milliwatts, centivolts,
/// milliamperes and milliwatt-hours. Integers keep the packed encoding exact and small.
struct StoredSample: Equatable {
    var timestampMilliseconds: Int64
    var milliwatts: Int64
    var centivolts: Int64?
    var milliamps: Int64?
    var deviceMilliwattHours: Int64?
    /// The node's id in the `node` table (where a row mixes nodes).
    var node: Int64

    init(
        timestampMilliseconds: Int64, milliwatts: Int64, centivolts: Int64?, milliamps: Int64?, deviceMilliwattHours: Int64?,
        node: Int64 = 0
    ) {
        self.timestampMilliseconds = timestampMilliseconds
        self.milliwatts = milliwatts
        self.centivolts = centivolts
        self.milliamps = milliamps
        self.deviceMilliwattHours = deviceMilliwattHours
        self.node = node
    }

    init(_ sample: Sample, node: Int64 = 0) {
        let reading = sample.reading
        self.init(
            timestampMilliseconds: sample.timestampMilliseconds,
            milliwatts: Self.fixed(reading.watts, 1000),
            centivolts: reading.volts.flatMap { Self.fixedOrNil($0, 100) },
            milliamps: reading.amps.flatMap { Self.fixedOrNil($0, 1000) },
            deviceMilliwattHours: reading.energyWattHours.flatMap { Self.fixedOrNil($0, 1000) },
            node: node
        )
    }

    /// Which optional fields are present: samples packed together share it.
    var presence: Int {
        (centivolts == nil ? 0 : 1) | (milliamps == nil ? 0 : 2) | (deviceMilliwattHours == nil ? 0 : 4)
    }

    /// The sample in SI units.
    func sample(node: String) -> Sample {
        Sample(
            node: node,
            timestampMilliseconds: timestampMilliseconds,
            reading: Reading(
                watts: Double(milliwatts) / 1000,
                volts: centivolts.map { Double($0) / 100 },
                amps: milliamps.map { Double($0) / 1000 },
                energyWattHours: deviceMilliwattHours.map { Double($0) / 1000 }
            )
        )
    }

    /// Watts, for integration.
    var watts: Double { Double(milliwatts) / 1000 }

    private static func fixed(_ value: Double, _ scale: Double) -> Int64 {
        // The validator keeps the power finite and bounded; the clamp only guards the conversion.
        let scaled = (value * scale).rounded()
        guard scaled.isFinite else { return 0 }
        return Int64(clampingRounding: max(-9.0e15, min(9.0e15, scaled)))
    }

    /// An optional figure in fixed point, or nil (stored as NULL: no figure) when it is not
    /// finite, negative or beyond `optionalLimit`: never a false 0, never a silent clamp.
    private static func fixedOrNil(_ value: Double, _ scale: Double) -> Int64? {
        let scaled = (value * scale).rounded()
        guard scaled.isFinite, scaled >= 0, scaled <= Double(optionalLimit) else { return nil }
        return Int64(rounding: scaled)
    }

    /// The largest optional figure stored (9 x 10^15 in its unit: 9 TWh of device counter).
    static let optionalLimit: Int64 = 9_000_000_000_000_000

    /// The times a stored sample can have: the years 1 to 9999, as the command line accepts.
    static let times = TimeParsing.earliestMilliseconds...TimeParsing.latestMilliseconds

    /// The power a stored sample can have: 1 MW either way, beyond every meter's rating (a
    /// three-phase meter reads up to 180 kW) and small enough that sums of any number of
    /// samples a query reads stay far inside 64 bits.
    static let milliwattRange: ClosedRange<Int64> = -1_000_000_000...1_000_000_000
}

extension Array where Element == StoredSample {
    /// Whether the times never decrease.
    var isSortedByTime: Bool {
        indices.dropFirst().allSatisfy { self[$0 - 1].timestampMilliseconds <= self[$0].timestampMilliseconds }
    }

    /// Sorts by time if needed and drops repeated timestamps (keeping the first), so that
    /// samples gathered from packed chunks and the recent table form one clean series.
    mutating func normalizeOrder() {
        var sorted = true
        for index in indices.dropFirst() where self[index - 1].timestampMilliseconds >= self[index].timestampMilliseconds {
            sorted = false
            break
        }
        guard !sorted else { return }
        // A stable sort keeps the first of equal timestamps first.
        let ordered = enumerated().sorted {
            ($0.element.timestampMilliseconds, $0.offset) < ($1.element.timestampMilliseconds, $1.offset)
        }
        var result: [StoredSample] = []
        result.reserveCapacity(count)
        for (_, sample) in ordered where result.last?.timestampMilliseconds != sample.timestampMilliseconds {
            result.append(sample)
        }
        self = result
    }
}
