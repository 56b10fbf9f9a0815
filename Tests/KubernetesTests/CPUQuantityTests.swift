import Foundation
import Kubernetes
import Testing

/// Kubernetes quantities read as cores: every suffix, and nil (never a trap) for anything else.
@Suite("CPU quantities")
struct CPUQuantityTests {
    @Test(
        "suffixes, decimals and exponents read as cores",
        arguments: [
            ("123456789n", 0.123456789), ("7927582n", 0.007927582), ("250m", 0.25), ("1500u", 0.0015), ("2", 2),
            ("0.5", 0.5), (".5", 0.5), ("1.", 1), ("+2", 2), ("0", 0), ("-0", 0), ("0m", 0), ("100m", 0.1),
            ("1k", 1000), ("2M", 2e6), ("1G", 1e9), ("1T", 1e12), ("1Ki", 1024), ("3Mi", 3_145_728),
            ("1Gi", 1_073_741_824), ("1e3", 1000), ("1E3", 1000), ("1.5e-3", 0.0015), ("5e+0", 5), ("25e-2", 0.25),
            ("0.000000001", 1e-9), ("1e-400", 0),
        ])
    func table(text: String, cores: Double) {
        #expect(CPUQuantity.cores(text) == cores, "\(text)")
    }

    @Test(
        "malformed, negative, non-finite or absurd quantities are nil",
        arguments: [
            "", " ", "m", "n", ".", "-", "+", "-1", "-250m", "-1e3", "1 ", " 1", "1m ", "1 m", "1mm", "1Kii", "1ki",
            "1KI", "1K", "1i", "1e", "1e+", "e3", "1e3m", "1..2", "1.2.3", "0x10", "nan", "NaN", "inf", "Infinity",
            "1e99999", "1P", "1E", "1Pi", "1Ei", "1Ti", "1e13", "١", "1\u{0}", "１", "--1", "+-1", "1_000",
            String(repeating: "9", count: 65), String(repeating: "9", count: 400) + "n",
        ])
    func refused(text: String) {
        #expect(CPUQuantity.cores(text) == nil, "\(text.debugDescription)")
    }

    @Test("the grammar's own numbers read as the number times the suffix's factor")
    func generated() {
        var generator = SystemRandomNumberGenerator()
        let suffixes: [(String, Double)] = [
            ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("", 1), ("k", 1e3), ("Ki", 1024), ("M", 1e6), ("Mi", 1_048_576),
        ]
        for _ in 0..<2000 {
            // Below the bound with every suffix: 99,999.999Mi is some 10^11 cores.
            let whole = UInt64.random(in: 0...99_999, using: &generator)
            let fraction = UInt64.random(in: 0...999, using: &generator)
            let (suffix, factor) = suffixes.randomElement(using: &generator) ?? ("", 1)
            let text = "\(whole).\(fraction)\(suffix)"
            let expected = (Double("\(whole).\(fraction)") ?? 0) * factor
            let cores = CPUQuantity.cores(text)
            #expect(
                cores.map { abs($0 - expected) <= expected * 1e-12 } == true, "\(text): \(String(describing: cores))")
        }
    }

    @Test("random and extreme strings never trap: nil, or a finite number of cores within the bound")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789.+-eEkKMGTPinum \u{0}٣１😀")
        var samples: [String] = (0..<20_000).map { _ in
            String(
                (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator) ?? "0"
                })
        }
        samples += [
            String(repeating: "1", count: 10_000), "1e" + String(repeating: "9", count: 1000),
            "0." + String(repeating: "0", count: 60) + "1",
            "9" + String(repeating: "0", count: 63), "1e9999", "1e-9999", "\(Double.greatestFiniteMagnitude)",
            "\(Double.leastNonzeroMagnitude)", "\(Int64.max)E", "\(UInt64.max)n",
        ]
        for text in samples {
            if let cores = CPUQuantity.cores(text) {
                #expect(cores.isFinite && cores >= 0 && cores <= CPUQuantity.maximumCores, "\(text.debugDescription)")
                #expect(cores.sign == .plus, "\(text.debugDescription)")
            }
        }
    }
}
