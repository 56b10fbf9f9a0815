import EnergyModel
import Foundation
import UserInput

extension ConfigurationReader {
    /// The largest carbon intensity file read: ten years of quarter-hours is some 10 MB.
    static let maxIntensityFileBytes = 32 << 20
    /// The highest believable intensity: coal and oil plants emit some 1,000-1,200 g/kWh.
    static let maxGramsPerKWh = 10_000.0
    /// The highest believable price of a kilowatt-hour (any currency's unit).
    static let maxPricePerKWh = 1_000_000.0

    /// `carbon:` and `price:` of `top` (either may be absent).
    func footprint(_ top: YAMLFields) throws(KeyPathError) -> FootprintSettings {
        var settings = FootprintSettings()
        if let value = top["carbon"], !value.isNull { settings.carbon = try carbon(value) }
        if let value = top["price"], !value.isNull { settings.tariff = try price(value) }
        return settings
    }

    /// `carbon:`: exactly one of `gramsPerKWh`, `file` or `electricityMaps`.
    func carbon(_ value: YAMLValue) throws(KeyPathError) -> CarbonSource {
        let fields = try value.fields(known: ["gramsPerKWh", "file", "electricityMaps"])
        let given = ["gramsPerKWh", "file", "electricityMaps"].filter { fields[$0] != nil }
        guard given.count == 1 else {
            throw value.error(
                given.isEmpty
                    ? "give one of gramsPerKWh, file or electricityMaps"
                    : "give one of gramsPerKWh, file or electricityMaps, not \(given.joined(separator: " and "))")
        }
        if let grams = fields["gramsPerKWh"] {
            return .constant(try grams.number(in: 0...Self.maxGramsPerKWh, expected: "of g/kWh in 0...10000"))
        }
        if let file = fields["file"] {
            let path = resolve(try file.string())
            return .series(try intensitySeries(path, at: file), file: path)
        }
        guard let maps = fields["electricityMaps"] else { throw value.error("missing") }
        return .electricityMaps(try electricityMaps(maps))
    }

    /// `carbon.electricityMaps:` `zone`, `tokenFile`, optional `url` and `poll`.
    func electricityMaps(_ value: YAMLValue) throws(KeyPathError) -> ElectricityMapsSettings {
        let fields = try value.fields(known: ["zone", "tokenFile", "url", "poll"])
        let zoneValue = try fields.required("zone")
        let zone = try zoneValue.string()
        guard zone.utf8.count <= 64, zone.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else {
            throw zoneValue.error("\"\(zone)\" is not a zone of letters, digits and - (such as DE or US-CAL-CISO)")
        }
        let tokenValue = try fields.required("tokenFile")
        let tokenFile = resolve(try tokenValue.string())
        let token = try readSecret(tokenFile, at: tokenValue)
        guard token.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline && $0 != "\u{7F}" && $0 >= " " })
        else {
            throw tokenValue.error("\(tokenFile) holds more than one token of printable characters")
        }
        var settings = ElectricityMapsSettings(zone: zone, token: token, tokenFile: tokenFile)
        if let url = fields["url"] {
            let text = try url.string()
            var trimmed = Substring(text)
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
            guard trimmed.hasPrefix("http://") || trimmed.hasPrefix("https://"), trimmed.count > 8,
                !trimmed.contains(" "), !trimmed.contains("?"), !trimmed.contains("#"), !trimmed.contains("@")
            else {
                throw url.error("must be an http:// or https:// URL without query or user, not \"\(text)\"")
            }
            settings.url = String(trimmed)
        }
        if let poll = fields["poll"] {
            settings.pollMilliseconds = try poll.duration(atLeast: 1000, atMost: 86_400_000)
        }
        return settings
    }

    /// A CSV of `timestamp,gramsPerKWh` rows (unix seconds or RFC 3339; a header line and
    /// `#` comments allowed), as grid operators publish them.
    func intensitySeries(_ path: String, at value: YAMLValue) throws(KeyPathError) -> StepSeries {
        let text: String
        do {
            text = try UserFile(path: path, maxBytes: Self.maxIntensityFileBytes).text()
        } catch {
            throw value.error(
                error.reason == .notText ? "\(path) is not UTF-8 text" : "cannot read \(path): \(error.problem)")
        }
        var steps: [StepSeries.Step] = []
        var lineNumber = 0
        var sawHeader = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let columns = trimmed.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: " \t\""))
            }
            // A header: the first row whose first column does not start with a digit.
            if steps.isEmpty, !sawHeader, columns.first?.first?.isNumber != true {
                sawHeader = true
                continue
            }
            guard columns.count == 2 else {
                throw value.error(
                    "\(path) line \(lineNumber): expected timestamp,gramsPerKWh, not \(columns.count) columns")
            }
            guard columns[0].first?.isNumber == true,
                let time = try? TimeParsing.milliseconds(columns[0], nowMilliseconds: 0)
            else {
                throw value.error(
                    "\(path) line \(lineNumber): \"\(columns[0])\" is not a unix or RFC 3339 timestamp")
            }
            guard columns[1].allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
                let grams = Double(columns[1]), grams.isFinite, (0...Self.maxGramsPerKWh).contains(grams)
            else {
                throw value.error("\(path) line \(lineNumber): \"\(columns[1])\" is not a g/kWh figure in 0...10000")
            }
            steps.append(StepSeries.Step(startMilliseconds: time, value: grams))
        }
        guard !steps.isEmpty else { throw value.error("\(path) holds no timestamp,gramsPerKWh rows") }
        return StepSeries(steps: steps)
    }

    /// `price:` `perKWh`, `currency`, optional `timezone` and `timeOfUse` rows.
    func price(_ value: YAMLValue) throws(KeyPathError) -> Tariff {
        let fields = try value.fields(known: ["perKWh", "currency", "timezone", "timeOfUse"])
        let perKWh = try fields.required("perKWh").number(
            in: 0...Self.maxPricePerKWh, expected: "of at least 0 per kWh")
        let currencyValue = try fields.required("currency")
        let currency = try currencyValue.string()
        guard (1...8).contains(currency.count), currency.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else {
            throw currencyValue.error("\"\(currency)\" is not a currency code such as EUR or USD")
        }
        var tariff = Tariff(perKWh: perKWh, currency: currency)
        if let zoneValue = fields["timezone"] {
            let name = try zoneValue.string()
            guard let zone = TimeZone(identifier: name) else {
                throw zoneValue.error("\"\(name)\" is not a time zone (such as UTC or Europe/Berlin)")
            }
            tariff.timeZone = zone
        }
        if let table = fields["timeOfUse"], !table.isNull {
            for row in try table.list() {
                let rowFields = try row.fields(known: ["weekday", "from", "to", "price"])
                let weekdayValue = try rowFields.required("weekday")
                let weekdays = try Self.weekdays(weekdayValue)
                let fromValue = try rowFields.required("from")
                let from = try Self.minuteOfDay(fromValue, allowingEnd: false)
                let toValue = try rowFields.required("to")
                let to = try Self.minuteOfDay(toValue, allowingEnd: true)
                guard to > from else {
                    throw toValue.error("must be after from (split a night across midnight in two rows)")
                }
                let price = try rowFields.required("price").number(
                    in: 0...Self.maxPricePerKWh, expected: "of at least 0 per kWh")
                tariff.periods.append(Tariff.Period(weekdays: weekdays, fromMinute: from, toMinute: to, perKWh: price))
            }
        }
        return tariff
    }

    /// ISO weekdays of `mon`, `mon-fri`, `sat,sun`, a list of those, or `all`.
    static func weekdays(_ value: YAMLValue) throws(KeyPathError) -> Set<Int> {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        let items: [String]
        if case .sequence = value.node.content {
            items = try value.stringList()
        } else {
            items = try value.string().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        var days: Set<Int> = []
        for item in items {
            let text = item.lowercased()
            if text == "all" || text == "*" || text == "daily" {
                days.formUnion(1...7)
                continue
            }
            let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map {
                names.firstIndex(of: String($0.prefix(3)))
            }
            guard (1...2).contains(bounds.count), let first = bounds[0], let last = bounds[bounds.count - 1],
                text.split(separator: "-").allSatisfy({ $0.count >= 3 })
            else {
                throw value.error("\"\(item)\" is not a weekday (mon...sun), a range (mon-fri) or all")
            }
            guard first <= last else { throw value.error("\"\(item)\" runs backwards (write sat,sun or mon-fri)") }
            days.formUnion((first + 1)...(last + 1))
        }
        guard !days.isEmpty else { throw value.error("must name at least one weekday") }
        return days
    }

    /// `HH:MM` as minutes since midnight; `24:00` only as an end.
    static func minuteOfDay(_ value: YAMLValue, allowingEnd: Bool) throws(KeyPathError) -> Int {
        let text = try value.string()
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let hours = Int(parts[0]), let minutes = Int(parts[1]), minutes < 60,
            hours < 24 || (allowingEnd && hours == 24 && minutes == 0)
        else {
            throw value.error(
                "must be a time of day HH:MM\(allowingEnd ? " (24:00 for midnight)" : ""), not \"\(text)\"")
        }
        return hours * 60 + minutes
    }
}
