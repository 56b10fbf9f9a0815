// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "energy-monitor",
    // Linux only: the libcurl client's event loop is built on epoll (see README).
    products: [
        .executable(name: "energy-monitor", targets: ["energy-monitor"]),
        .library(name: "Scoring", targets: ["Scoring"]),
        .library(name: "ShellyPoller", targets: ["ShellyPoller"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "EnergyQueries", targets: ["EnergyQueries"]),
        .library(name: "Exporter", targets: ["Exporter"]),
        .library(name: "NodeAnnotations", targets: ["NodeAnnotations"]),
        .library(name: "PodEnergy", targets: ["PodEnergy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        // C shims over the system libraries.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        // Shared value types and their arithmetic: samples, durations, times, wall-clock
        // boundaries, energy counters and window integration.
        .target(name: "EnergyModel"),
        // What users give the program, read strictly: files from paths they name (regular files
        // only, bounded), YAML with key paths in every error and bounded aliases, listen
        // addresses; and YAML written so that it reads back the same.
        .target(name: "UserInput", dependencies: ["EnergyModel", "Yams"]),
        // Per-pod energy on shared nodes: a window's measured energy split into static and
        // dynamic parts among pods, system and idle; the per-node fit of static power.
        .target(name: "PodEnergy"),
        // The one JSON tree type (Shelly payloads, Kubernetes objects) and its strict reader.
        .target(name: "JSON"),
        // The contracts between monitor, pods and scheduler: the power annotations' keys and
        // format, the workload labels and weight annotation.
        .target(name: "AnnotationContract"),
        // libcurl client: one multi handle driven by one thread.
        .target(
            name: "CurlClient",
            dependencies: ["CCurl"]
        ),
        // Kubernetes API client: connection loading (in-cluster, kubeconfig) and node patches.
        .target(
            name: "Kubernetes",
            dependencies: ["CurlClient", "EnergyModel", "JSON", "UserInput", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "ShellyPoller",
            dependencies: [
                "EnergyModel", "CurlClient", "JSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Store",
            dependencies: [
                "EnergyModel", "CSQLite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What an HTTP server answers on the event loop, before its handlers: the health
        // check, and `503` beyond a limit of requests in progress.
        .target(
            name: "HTTPAdmission",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // Energy and power of nodes over a window, from the store: the query parameters, read
        // one way for the HTTP API and the command line, and the report of the `energy` command.
        .target(name: "EnergyQueries", dependencies: ["EnergyModel", "Store"]),
        // Reads Prometheus text exposition back (the bench, the tests).
        .target(name: "Exposition"),
        // Publishers: `/metrics` and the dashboard with its JSON API.
        .target(
            name: "Exporter",
            dependencies: [
                "EnergyModel", "EnergyQueries", "Store", "HTTPAdmission",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Publisher: node annotations through the Kubernetes API.
        .target(
            name: "NodeAnnotations",
            dependencies: [
                "AnnotationContract", "EnergyModel", "Kubernetes",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Scoring",
            dependencies: ["AnnotationContract", "EnergyModel", "JSON", "UserInput", .product(name: "Logging", package: "swift-log")]
        ),
        // Simulated Shelly plugs (Gen1 and Gen2+ APIs) for the demo, tests and benchmarks.
        .target(
            name: "ShellySimulator",
            dependencies: [
                "EnergyModel", "JSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A small Kubernetes API server in-process: nodes, Jobs, pods, bindings, watches, with a
        // scripted pod lifecycle and injected faults (tests; the offline cluster of the harness).
        .target(
            name: "ClusterSimulator",
            dependencies: [
                "EnergyModel", "JSON", "Kubernetes",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A stand-in for the Electricity Maps API (carbon intensity, latest and history) with
        // faults to order, for tests and trials without a token.
        .target(
            name: "GridSimulator",
            dependencies: [
                "EnergyModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The experiment harness: workflow files, phases as Jobs, energy per phase, results
        // files, the sweep and the report.
        .target(
            name: "Workflow",
            dependencies: [
                "AnnotationContract", "CurlClient", "EnergyModel", "EnergyQueries", "JSON", "Kubernetes", "Scoring",
                "Store", "UserInput",
            ]
        ),
        // `energy-monitor check`: the installation against the cluster, one result per check.
        .target(name: "ClusterCheck", dependencies: ["EnergyModel", "Exposition", "JSON", "Kubernetes", "Scoring", "UserInput"]),
        // Configuration and the wiring of poller, store and exporter into the service.
        .target(
            name: "MonitorService",
            dependencies: [
                "AnnotationContract", "EnergyModel", "ShellyPoller", "Store", "Exporter", "HTTPAdmission", "NodeAnnotations",
                "CurlClient", "Kubernetes", "UserInput", "PodEnergy", "Scoring", "JSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The whole loop on one machine: plugs, monitor, API stand-in, extender, workloads.
        // The thesis's workflow and knowledge base are built in (symlinks to the files users
        // see, embedded at build time).
        .target(
            name: "WorkflowSimulation",
            dependencies: [
                "ClusterSimulator", "CurlClient", "JSON", "Kubernetes", "MonitorService", "SchedulerExtender", "Scoring",
                "ShellySimulator", "ShellyPoller", "Workflow", "AnnotationContract", "Exporter", "EnergyModel", "UserInput",
                "PodEnergy", "EnergyQueries", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Defaults/thesis-workflow.yaml"), .embedInCode("Defaults/knowledge-base.yaml")]
        ),
        // The scheduler-extender HTTP server around the scoring library.
        .target(
            name: "SchedulerExtender",
            dependencies: [
                "Scoring", "HTTPAdmission", "UserInput", "Kubernetes", "JSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "energy-monitor",
            dependencies: [
                "AnnotationContract", "ClusterCheck", "ClusterSimulator", "EnergyModel", "EnergyQueries", "Exposition",
                "MonitorService", "ShellyPoller", "ShellySimulator", "Scoring", "Store", "SchedulerExtender", "Kubernetes",
                "CurlClient", "JSON", "PodEnergy", "Workflow", "WorkflowSimulation", "UserInput",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The test-support library: processes, waits, ports, loopback HTTP, certificates, the
        // fake API server and kubeconfigs for it, paths of the public fixtures.
        .target(
            name: "TestSupport",
            dependencies: [
                "AnnotationContract", "ClusterSimulator", "CurlClient", "JSON", "Kubernetes",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            // Run with python3 by FakeAPIServer, TLSRelay and ProxyRelay; built by WallClockShim with cc.
            exclude: ["fake_apiserver.py", "tls_relay.py", "proxy_relay.py", "wallclock_shim.c"]
        ),
        .testTarget(name: "EnergyModelTests", dependencies: ["EnergyModel"]),
        .testTarget(name: "EnergyQueriesTests", dependencies: ["EnergyQueries"]),
        .testTarget(name: "PodEnergyTests", dependencies: ["PodEnergy", "TestSupport"]),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition"]),
        .testTarget(name: "UserInputTests", dependencies: ["UserInput", "EnergyModel", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"]),
        .testTarget(name: "AnnotationContractTests", dependencies: ["AnnotationContract"]),
        .testTarget(
            name: "ShellyPollerTests",
            dependencies: [
                "ShellyPoller", "ShellySimulator", "CurlClient", "EnergyModel", "JSON", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Corpus"]  // regression inputs of the fuzz test, read by path
        ),
        .testTarget(name: "CurlClientTests", dependencies: ["CurlClient", "ShellySimulator"]),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "EnergyModel", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "ExporterTests",
            dependencies: [
                "Exporter", "EnergyModel", "EnergyQueries", "Exposition", "Store", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "NodeAnnotationsTests",
            dependencies: [
                "NodeAnnotations", "Kubernetes", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KubernetesTests",
            dependencies: ["Kubernetes", "ClusterSimulator", "CurlClient", "JSON", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "ClusterCheckTests",
            dependencies: [
                "ClusterCheck", "ClusterSimulator", "CurlClient", "JSON", "Kubernetes", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ClusterSimulatorTests", dependencies: ["ClusterSimulator", "Kubernetes", "JSON", "TestSupport"]),
        .testTarget(
            name: "WorkflowTests",
            dependencies: [
                "Workflow", "AnnotationContract", "ClusterSimulator", "Kubernetes", "JSON", "Scoring", "TestSupport",
            ]
        ),
        .testTarget(
            name: "ScoringTests",
            dependencies: ["Scoring", "JSON", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "MonitorServiceTests",
            dependencies: [
                "MonitorService", "Exporter", "Exposition", "ShellyPoller", "ShellySimulator", "Store", "EnergyModel",
                "TestSupport", "UserInput", "GridSimulator", "CurlClient",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ShellySimulatorTests", dependencies: ["ShellySimulator", "ShellyPoller", "EnergyModel", "JSON"]),
        // End-to-end tests of the built binary against the simulator and real peers.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "AnnotationContract", "ClusterSimulator", "EnergyModel", "CurlClient", "Exposition", "JSON", "Kubernetes",
                "Scoring", "Store", "ShellySimulator", "TestSupport", "UserInput", "Workflow", "GridSimulator",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WorkflowSimulationTests",
            dependencies: [
                "WorkflowSimulation", "Workflow", "ClusterSimulator", "Scoring", "ShellySimulator", "TestSupport",
                "EnergyQueries", "Exposition", "AnnotationContract", "CurlClient", "JSON",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SchedulerExtenderTests",
            dependencies: [
                "SchedulerExtender", "Scoring", "CurlClient", "TestSupport", "UserInput", "ClusterSimulator", "Kubernetes",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
