import Exposition
import Foundation
import Testing

@Suite("Exposition reader")
struct ExpositionReaderTests {
    private let text = """
        # HELP d Delay.
        # TYPE d histogram
        d_bucket{le="0.001"} 2
        d_bucket{le="0.01"} 6
        d_bucket{le="0.1"} 10
        d_bucket{le="+Inf"} 10
        d_sum 0.2
        d_count 10
        e_total{node="a",reason="timeout"} 3
        e_total{node="b",reason="connect"} 4
        plain 7.5
        broken line
        """

    @Test("one series by its exact name and labels; the sample lines as written")
    func series() {
        let reader = ExpositionReader(text)
        #expect(reader.value(#"e_total{node="b",reason="connect"}"#) == 4)
        #expect(reader.value("plain") == 7.5)
        #expect(reader.has("d_sum") && !reader.has("d") && !reader.has(#"e_total{node="b"}"#))
        #expect(reader.value(#"e_total{reason="connect",node="b"}"#) == nil, "labels as the exposition orders them")
        #expect(reader.value("broken") == nil)
        #expect(
            reader.lines.count == 10 && reader.lines.last == "broken line"
                && !reader.lines.contains { $0.hasPrefix("#") })
        let spaced = ExpositionReader(#"info{model="Plug S",fw="1 2"} 1.0"#)
        #expect(spaced.value(#"info{model="Plug S",fw="1 2"}"#) == 1)
    }

    @Test("sums a metric over its label sets; nil when absent")
    func sums() {
        let reader = ExpositionReader(text)
        #expect(reader.sum("e_total") == 7)
        #expect(reader.sum("plain") == 7.5)
        #expect(reader.sum("d_count") == 10)
        #expect(reader.sum("missing") == nil)
    }

    @Test("the values of one label over a metric's samples, each once, whole label names only")
    func labelValues() {
        let reader = ExpositionReader(
            text + "\ne_total{node=\"a\",reason=\"slow\"} 1\nf{parent_node=\"x\",node=\"y\"} 1")
        #expect(reader.labelValues("e_total", label: "node") == ["a", "b"])
        #expect(reader.labelValues("e_total", label: "reason") == ["timeout", "connect", "slow"])
        #expect(reader.labelValues("f", label: "node") == ["y"])
        #expect(reader.labelValues("plain", label: "node").isEmpty)
        #expect(reader.labelValues("missing", label: "node").isEmpty)
    }

    @Test("reads buckets in order of their bounds, +Inf last")
    func buckets() {
        let buckets = ExpositionReader(text).buckets("d")
        #expect(buckets.map(\.upperBound) == [0.001, 0.01, 0.1, .infinity])
        #expect(buckets.map(\.cumulativeCount) == [2, 6, 10, 10])
    }

    @Test("quantiles interpolate inside the bucket, like histogram_quantile")
    func quantiles() throws {
        let buckets = ExpositionReader(text).buckets("d")
        // rank 5 of 10 lies in (0.001, 0.01]: 3 of its 4 observations.
        #expect(abs(try #require(ExpositionReader.quantile(0.5, of: buckets)) - (0.001 + 0.009 * 0.75)) < 1e-12)
        // rank 1 of 10 lies in the first bucket, interpolated from 0.
        #expect(abs(try #require(ExpositionReader.quantile(0.1, of: buckets)) - 0.0005) < 1e-12)
        #expect(ExpositionReader.quantile(0.5, of: []) == nil)
        let overflow = [
            ExpositionReader.Bucket(upperBound: 0.1, cumulativeCount: 1),
            .init(upperBound: .infinity, cumulativeCount: 10),
        ]
        #expect(ExpositionReader.quantile(0.99, of: overflow) == 0.1)
    }

    @Test("the difference of two scrapes holds only the observations between them")
    func difference() throws {
        let before = ExpositionReader(text).buckets("d")
        let after = ExpositionReader(
            text.replacingOccurrences(of: "d_bucket{le=\"0.1\"} 10", with: "d_bucket{le=\"0.1\"} 12")
                .replacingOccurrences(of: "d_bucket{le=\"+Inf\"} 10", with: "d_bucket{le=\"+Inf\"} 12")
        ).buckets("d")
        let between = ExpositionReader.difference(after, before)
        #expect(between.map(\.cumulativeCount) == [0, 0, 2, 2])
        #expect(abs(try #require(ExpositionReader.quantile(0.5, of: between)) - 0.055) < 1e-12)
    }
}
