// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "energy-monitor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "energy-monitor", targets: ["energy-monitor"]),
        .library(name: "Scoring", targets: ["Scoring"]),
        .library(name: "ShellyPoller", targets: ["ShellyPoller"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Exporter", targets: ["Exporter"]),
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

        // Shared value types: samples, durations, plug addresses.
        .target(name: "EnergyModel"),
        // libcurl client: one multi handle driven by one thread.
        .target(
            name: "CurlClient",
            dependencies: ["CCurl", .product(name: "Logging", package: "swift-log")]
        ),
        // Kubernetes API client: connection loading (in-cluster, kubeconfig) and node patches.
        .target(
            name: "Kubernetes",
            dependencies: ["CurlClient", "Yams", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "ShellyPoller",
            dependencies: [
                "EnergyModel", "CurlClient",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Store",
            dependencies: ["EnergyModel", "CSQLite", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Exporter",
            dependencies: [
                "EnergyModel", "Kubernetes", "Store",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Scoring",
            dependencies: ["Yams", .product(name: "Logging", package: "swift-log")]
        ),
        // Simulated Shelly plugs (Gen1 and Gen2+ APIs) for the demo, tests and benchmarks.
        .target(
            name: "ShellySimulator",
            dependencies: [
                "EnergyModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Configuration and the wiring of poller, store and exporter into the service.
        .target(
            name: "MonitorService",
            dependencies: [
                "EnergyModel", "ShellyPoller", "Store", "Exporter", "CurlClient", "Kubernetes", "Yams",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // The scheduler-extender HTTP server around the scoring library.
        .target(
            name: "SchedulerExtender",
            dependencies: [
                "Scoring",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "energy-monitor",
            dependencies: [
                "MonitorService", "ShellySimulator", "Scoring", "Store", "Exporter", "SchedulerExtender", "Kubernetes", "CurlClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Helpers shared by the test targets.
        .target(name: "TestSupport", dependencies: [.product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport"),
        .testTarget(
            name: "ShellyPollerTests",
            dependencies: [
                "ShellyPoller", "ShellySimulator", "CurlClient", "EnergyModel", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Corpus"]  // regression inputs of the fuzz test, read by path
        ),
        .testTarget(name: "CurlClientTests", dependencies: ["CurlClient", "ShellySimulator"]),
        .testTarget(
            name: "StoreTests", dependencies: ["Store", "EnergyModel", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "ExporterTests", dependencies: ["Exporter", "EnergyModel", "Kubernetes", "Store"]),
        .testTarget(
            name: "KubernetesTests", dependencies: ["Kubernetes", "CurlClient", "Store", "EnergyModel"],
            exclude: ["Support/fake_apiserver.py"]  // run by the tests with python3
        ),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring", "TestSupport"]),
        .testTarget(name: "MonitorServiceTests", dependencies: ["MonitorService", "ShellyPoller", "TestSupport"]),
        .testTarget(name: "ShellySimulatorTests", dependencies: ["ShellySimulator"]),
        .testTarget(name: "IntegrationTests", dependencies: ["EnergyModel", "CurlClient", "Store", "ShellySimulator"]),
        .testTarget(
            name: "SchedulerExtenderTests",
            dependencies: ["SchedulerExtender", "Scoring", "CurlClient", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
