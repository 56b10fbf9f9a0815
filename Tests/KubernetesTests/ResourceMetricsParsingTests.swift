import CurlClient
import Foundation
import JSON
import Kubernetes
import Testing

/// metrics-server's `NodeMetricsList` and `PodMetricsList` as the API serves them, Go
/// durations and RFC 3339 times; malformed objects are skipped and counted.
@Suite("Resource metrics parsing")
struct ResourceMetricsParsingTests {
    /// 2025-03-01T12:00:15Z.
    static let timestamp: Int64 = 1_740_830_415_000

    @Test(
        "Go durations as metrics-server writes windows",
        arguments: [
            ("15.012s", 15_012), ("20s", 20_000), ("1m0s", 60_000), ("500ms", 500), ("1h2m3.5s", 3_723_500),
            ("0s", 0), ("0", 0), ("10.725392s", 10_725), ("1.5µs", 0), ("2500us", 3), ("1500000ns", 2), ("+5s", 5000),
            ("1.s", 1000), (".5s", 500),
        ] as [(String, Int64)])
    func durations(text: String, milliseconds: Int64) {
        #expect(GoDuration.milliseconds(text) == milliseconds, "\(text)")
    }

    @Test(
        "text Go refuses, negative and absurd durations are nil",
        arguments: ["", "s", "15", "-1s", "1x", "1.2.3s", "1 s", "1S", "ms", "1e3s", "nan", "9999999h", "1s-", ".s"])
    func badDurations(text: String) {
        #expect(GoDuration.milliseconds(text) == nil, "\(text)")
    }

    @Test("windows are written as Go writes them, and read back")
    func formatting() {
        let cases: [(Int64, String)] = [
            (0, "0s"), (500, "500ms"), (1000, "1s"), (15_000, "15s"), (15_012, "15.012s"), (60_000, "1m0s"),
            (90_000, "1m30s"), (3_723_500, "1h2m3.5s"), (3_600_000, "1h0m0s"),
        ]
        for (milliseconds, text) in cases {
            #expect(GoDuration.format(milliseconds: milliseconds) == text)
            #expect(GoDuration.milliseconds(text) == milliseconds)
        }
    }

    @Test("RFC 3339 times: Z, fractions, offsets; anything else is nil")
    func timestamps() {
        #expect(KubernetesTimestamp.milliseconds("2025-03-01T12:00:15Z") == Self.timestamp)
        #expect(KubernetesTimestamp.milliseconds("2025-03-01T12:00:15.123456Z") == Self.timestamp + 123)
        #expect(KubernetesTimestamp.milliseconds("2025-03-01T12:00:15.5Z") == Self.timestamp + 500)
        #expect(KubernetesTimestamp.milliseconds("2025-03-01T13:30:15+01:30") == Self.timestamp)
        #expect(KubernetesTimestamp.milliseconds("2025-03-01T10:00:15-02:00") == Self.timestamp)
        #expect(KubernetesTimestamp.milliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(KubernetesTimestamp.milliseconds("2024-02-29T00:00:00Z") == 1_709_164_800_000)
        for bad in [
            "", "2025-03-01", "2025-03-01T12:00:15", "2025-03-01 12:00:15Z", "2025-02-30T12:00:15Z",
            "2023-02-29T00:00:00Z", "2025-13-01T12:00:15Z", "2025-03-01T24:00:00Z", "0001-01-01T00:00:00Z",
            "2025-03-01T12:00:15.Z", "2025-03-01T12:00:15Zjunk", "2025-03-01T12:00:15+0100", "１０２５-03-01T12:00:15Z",
        ] {
            #expect(KubernetesTimestamp.milliseconds(bad) == nil, "\(bad)")
        }
        #expect(KubernetesTimestamp.format(milliseconds: Self.timestamp + 999) == "2025-03-01T12:00:15Z")
        #expect(KubernetesTimestamp.format(milliseconds: 0) == "1970-01-01T00:00:00Z")
    }

    /// A `NodeMetricsList` shaped as metrics-server 0.7 answers, with one broken object.
    static let nodeList = #"""
        {"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[
          {"metadata":{"name":"tvpc","creationTimestamp":"2025-03-01T12:00:20Z",
            "labels":{"kubernetes.io/arch":"amd64","kubernetes.io/hostname":"tvpc"}},
           "timestamp":"2025-03-01T12:00:15Z","window":"10.725s","usage":{"cpu":"1234567890n","memory":"3915436Ki"}},
          {"metadata":{"name":"rpi","creationTimestamp":"2025-03-01T12:00:20Z"},
           "timestamp":"2025-03-01T12:00:14Z","window":"20.036s","usage":{"cpu":"250m","memory":"512Mi"}},
          {"metadata":{"name":"broken"},"timestamp":"2025-03-01T12:00:14Z","window":"20s","usage":{"cpu":"lots"}},
          {"metadata":{"name":"no-window"},"timestamp":"2025-03-01T12:00:14Z","usage":{"cpu":"1"}},
          {"metadata":{},"timestamp":"2025-03-01T12:00:14Z","window":"20s","usage":{"cpu":"1"}},
          "not an object"
        ]}
        """#

    @Test("a NodeMetricsList: usage, timestamps and windows; malformed objects skipped and counted")
    func nodeMetricsList() throws {
        let document = try #require(JSONValue.parse(Array(Self.nodeList.utf8)))
        let list = NodeMetricsList(objects: document["items"]?.array ?? [])
        #expect(list.skipped == 4)
        #expect(
            list.items == [
                NodeUsage(
                    name: "tvpc", timestampMilliseconds: Self.timestamp, windowMilliseconds: 10_725,
                    cpuCores: 1.23456789),
                NodeUsage(
                    name: "rpi", timestampMilliseconds: Self.timestamp - 1000, windowMilliseconds: 20_036,
                    cpuCores: 0.25),
            ])
    }

    /// A `PodMetricsList`: two containers, a pod without containers yet, and broken ones.
    static let podList = #"""
        {"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[
          {"metadata":{"name":"train-x7k2p","namespace":"ml","creationTimestamp":"2025-03-01T12:00:20Z",
            "labels":{"job-name":"train"}},
           "timestamp":"2025-03-01T12:00:15Z","window":"15.012s",
           "containers":[{"name":"main","usage":{"cpu":"1500m","memory":"204800Ki"}},
                         {"name":"sidecar","usage":{"cpu":"2500000n","memory":"8Mi"}}]},
          {"metadata":{"name":"starting","namespace":"ml"},"timestamp":"2025-03-01T12:00:15Z","window":"15s",
           "containers":[]},
          {"metadata":{"name":"bad-cpu","namespace":"ml"},"timestamp":"2025-03-01T12:00:15Z","window":"15s",
           "containers":[{"name":"main","usage":{"cpu":"-5m"}}]},
          {"metadata":{"name":"twice","namespace":"ml"},"timestamp":"2025-03-01T12:00:15Z","window":"15s",
           "containers":[{"name":"main","usage":{"cpu":"1"}},{"name":"main","usage":{"cpu":"1"}}]},
          {"metadata":{"name":"no-namespace"},"timestamp":"2025-03-01T12:00:15Z","window":"15s","containers":[]},
          {"metadata":{"name":"bad-time","namespace":"ml"},"timestamp":"yesterday","window":"15s","containers":[]},
          {"metadata":{"name":"no-usage","namespace":"ml"},"timestamp":"2025-03-01T12:00:15Z","window":"15s",
           "containers":[{"name":"main"}]}
        ]}
        """#

    @Test("a PodMetricsList: containers summed; a pod with a broken container is skipped, not summed short")
    func podMetricsList() throws {
        let document = try #require(JSONValue.parse(Array(Self.podList.utf8)))
        let list = PodMetricsList(objects: document["items"]?.array ?? [])
        #expect(list.skipped == 5)
        #expect(list.items.map(\.name) == ["train-x7k2p", "starting"])
        let train = try #require(list.items.first)
        #expect(train.namespace == "ml")
        #expect(train.timestampMilliseconds == Self.timestamp)
        #expect(train.windowMilliseconds == 15_012)
        #expect(train.containers == ["main": 1.5, "sidecar": 0.0025])
        #expect(train.cpuCores == 1.5025)
        #expect(list.items.last?.cpuCores == 0)
        #expect(list.items.last?.containers.isEmpty == true)
    }

    @Test("isMissingMetricsAPI: a 404 that names no object, never a 404 of an object, a 403 or a 503")
    func missingAPI() {
        func error(_ code: Int, _ message: String) -> KubernetesRequestError {
            KubernetesRequestError(failure: .rejected(APIStatus(code: code, reason: "NotFound", message: message)))
        }
        #expect(error(404, "the server could not find the requested resource").isMissingMetricsAPI)
        #expect(error(404, "404 page not found").isMissingMetricsAPI)
        #expect(!error(404, #"nodemetrics.metrics.k8s.io "tvpc" not found"#).isMissingMetricsAPI)
        #expect(!error(403, "forbidden").isMissingMetricsAPI)
        #expect(
            !KubernetesRequestError(
                failure: .unavailable(
                    APIStatus(code: 503, message: "the server is currently unable to handle the request"))
            ).isMissingMetricsAPI)
        #expect(!KubernetesRequestError(failure: .transport(.timeout)).isMissingMetricsAPI)
    }
}
