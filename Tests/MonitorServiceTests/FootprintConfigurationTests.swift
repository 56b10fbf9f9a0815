import EnergyModel
import Foundation
import MonitorService
import TestSupport
import Testing

/// `carbon:` and `price:` of the service's configuration.
@Suite("Carbon and price configuration")
struct FootprintConfigurationTests {
    static let plugs = "plugs: [{node: a, address: h}]\n"

    @Test("a constant intensity and a price with a time-of-use table in a zone")
    func constant() throws {
        let configuration = try MonitorConfiguration.parse(
            yaml: Self.plugs + """
                carbon: {gramsPerKWh: 380}
                price:
                  perKWh: 0.30
                  currency: EUR
                  timezone: Europe/Berlin
                  timeOfUse:
                    - {weekday: mon-fri, from: "07:00", to: "22:00", price: 0.35}
                    - {weekday: [sat, sun], from: "00:00", to: "24:00", price: 0.2}
                """, baseDirectory: "/")
        #expect(configuration.footprint.carbon == .constant(380))
        let tariff = try #require(configuration.footprint.tariff)
        #expect(tariff.perKWh == 0.30 && tariff.currency == "EUR" && tariff.timeZone.identifier == "Europe/Berlin")
        #expect(
            tariff.periods == [
                .init(weekdays: Set(1...5), fromMinute: 420, toMinute: 1320, perKWh: 0.35),
                .init(weekdays: [6, 7], fromMinute: 0, toMinute: 1440, perKWh: 0.2),
            ])
        #expect(try MonitorConfiguration.parse(yaml: Self.plugs, baseDirectory: "/").footprint.isEmpty)
    }

    @Test("a CSV series: unix and RFC 3339 times, a header, comments; step values")
    func series() throws {
        let folder = try TemporaryDirectory()
        try "# grid operator export\ndatetime,carbon_intensity\n1769030700,100\n2026-01-21T21:26:30.5Z,400\n"
            .write(toFile: folder.path + "/grid.csv", atomically: true, encoding: .utf8)
        let configuration = try MonitorConfiguration.parse(
            yaml: Self.plugs + "carbon: {file: grid.csv}", baseDirectory: folder.path)
        guard case .series(let series, let file) = configuration.footprint.carbon else {
            Issue.record("not a series: \(String(describing: configuration.footprint.carbon))")
            return
        }
        #expect(file == folder.path + "/grid.csv")
        #expect(series.steps.map(\.startMilliseconds) == [1_769_030_700_000, 1_769_030_790_500])
        #expect(series.value(at: 1_769_030_790_499) == 100 && series.value(at: 1_769_030_790_500) == 400)
    }

    @Test("Electricity Maps: zone, the token from its file, the URL; the token in no description")
    func electricityMaps() throws {
        let folder = try TemporaryDirectory()
        try "s3cr3t-token\n".write(toFile: folder.path + "/token", atomically: true, encoding: .utf8)
        let configuration = try MonitorConfiguration.parse(
            yaml: Self.plugs + "carbon: {electricityMaps: {zone: DE, tokenFile: token, url: 'http://127.0.0.1:9/'}}",
            baseDirectory: folder.path)
        guard case .electricityMaps(let settings) = configuration.footprint.carbon else {
            Issue.record("not Electricity Maps")
            return
        }
        #expect(settings.zone == "DE" && settings.token == "s3cr3t-token" && settings.url == "http://127.0.0.1:9")
        #expect(settings.pollMilliseconds == 3_600_000)
        #expect(!"\(settings)".contains("s3cr3t") && !"\(configuration)".contains("s3cr3t"))
    }

    @Test(
        "bad values: one line naming the key path",
        arguments: [
            ("carbon: {gramsPerKWh: -1}", "carbon.gramsPerKWh"),
            ("carbon: {gramsPerKWh: lots}", "carbon.gramsPerKWh"),
            ("carbon: {gramsPerKWh: 1e9}", "carbon.gramsPerKWh"),
            ("carbon: {}", "carbon"),
            ("carbon: {gramsPerKWh: 1, file: x.csv}", "carbon"),
            ("carbon: {grams: 1}", "carbon.grams"),
            ("carbon: {file: /nonexistent/grid.csv}", "carbon.file"),
            ("carbon: {electricityMaps: {tokenFile: /nonexistent}}", "carbon.electricityMaps.zone"),
            ("carbon: {electricityMaps: {zone: 'D E', tokenFile: /nonexistent}}", "carbon.electricityMaps.zone"),
            ("carbon: {electricityMaps: {zone: DE, tokenFile: /nonexistent}}", "carbon.electricityMaps.tokenFile"),
            ("price: {currency: EUR}", "price.perKWh"),
            ("price: {perKWh: 0.3}", "price.currency"),
            ("price: {perKWh: -0.3, currency: EUR}", "price.perKWh"),
            ("price: {perKWh: 0.3, currency: 'E U R'}", "price.currency"),
            ("price: {perKWh: 0.3, currency: EUR, timezone: Mars/Olympus}", "price.timezone"),
            (
                "price: {perKWh: 0.3, currency: EUR, timeOfUse: [{weekday: fun, from: '07:00', to: '08:00', price: 1}]}",
                "price.timeOfUse[0].weekday"
            ),
            (
                "price: {perKWh: 0.3, currency: EUR, timeOfUse: [{weekday: fri-mon, from: '07:00', to: '08:00', price: 1}]}",
                "price.timeOfUse[0].weekday"
            ),
            (
                "price: {perKWh: 0.3, currency: EUR, timeOfUse: [{weekday: mon, from: '7', to: '08:00', price: 1}]}",
                "price.timeOfUse[0].from"
            ),
            (
                "price: {perKWh: 0.3, currency: EUR, timeOfUse: [{weekday: mon, from: '24:00', to: '24:00', price: 1}]}",
                "price.timeOfUse[0].from"
            ),
            (
                "price: {perKWh: 0.3, currency: EUR, timeOfUse: [{weekday: mon, from: '22:00', to: '06:00', price: 1}]}",
                "price.timeOfUse[0].to"
            ),
            (
                "price: {perKWh: 0.3, currency: EUR, timeOfUse: [{weekday: mon, from: '07:00', to: '08:00'}]}",
                "price.timeOfUse[0].price"
            ),
            (
                "price: {perKWh: 0.3, currency: EUR, timeOfUse: [{weekday: mon, from: '07:00', to: '08:00', price: x}]}",
                "price.timeOfUse[0].price"
            ),
        ] as [(String, String)]
    )
    func invalid(yaml: String, path: String) {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try MonitorConfiguration.parse(yaml: Self.plugs + yaml, baseDirectory: "/")
        }
        #expect(error?.keyPath == path, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    @Test("bad rows of a series file: the file and line in one line")
    func badFile() throws {
        let folder = try TemporaryDirectory()
        for (content, message) in [
            ("1769030700,100\n1769034300,lots\n", "line 2"), ("1769030700;100\n", "line 1"),
            ("1769030700,100\nyesterday,5\n", "line 2"), ("1769030700,-5\n", "line 1"), ("# nothing\n", "no"),
        ] {
            try content.write(toFile: folder.path + "/grid.csv", atomically: true, encoding: .utf8)
            let error = #expect(throws: ConfigurationError.self) {
                _ = try MonitorConfiguration.parse(
                    yaml: Self.plugs + "carbon: {file: grid.csv}", baseDirectory: folder.path)
            }
            #expect(
                error?.keyPath == "carbon.file" && error?.message.contains(message) == true,
                "\(String(describing: error))")
        }
    }

    @Test("energy and workflow read carbon, price and database alone from the service's file")
    func alone() throws {
        let folder = try TemporaryDirectory()
        // The plug's password file is missing: the service would refuse the file, the readers
        // of carbon and price need not.
        try """
        database: energy.db
        plugs: [{node: a, address: h, passwordFile: /nonexistent}]
        carbon: {gramsPerKWh: 380}
        price: {perKWh: 0.3, currency: EUR}
        """.write(toFile: folder.path + "/monitor.yaml", atomically: true, encoding: .utf8)
        let read = try MonitorConfiguration.loadFootprint(path: folder.path + "/monitor.yaml")
        #expect(read.settings.carbon == .constant(380) && read.settings.tariff?.perKWh == 0.3)
        #expect(read.database == folder.path + "/energy.db")
        try "carbon: {gramsPerKWh: -4}\n".write(toFile: folder.path + "/bad.yaml", atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigurationError.self) {
            _ = try MonitorConfiguration.loadFootprint(path: folder.path + "/bad.yaml")
        }
        #expect(error?.description.hasPrefix(folder.path + "/bad.yaml: carbon.gramsPerKWh: ") == true)
    }
}
