// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "claimflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "claimflow", targets: ["claimflow"]),
        .library(name: "ClaimFlowCore", targets: ["ClaimFlowCore"]),
        .library(name: "ClaimFlowStore", targets: ["ClaimFlowStore"]),
        .library(name: "ClaimFlowAPI", targets: ["ClaimFlowAPI"]),
        .library(name: "ClaimFlowWorkers", targets: ["ClaimFlowWorkers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The benchmark's HTTP load client (`claimflow bench load`).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Domain rules only: no I/O, no database, no HTTP.
        .target(
            name: "ClaimFlowCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ClaimFlowStore",
            dependencies: [
                "ClaimFlowCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedTextFiles"]
        ),
        // Turns text files (sql/*.sql, the API's Assets/) into Swift string literals, so an
        // installed binary carries its schema, its OpenAPI document and its dashboard.
        .executableTarget(
            name: "claimflow-embed-text",
            path: "Sources/claimflow-embed-text"
        ),
        .plugin(
            name: "EmbedTextFiles",
            capability: .buildTool(),
            dependencies: ["claimflow-embed-text"]
        ),
        // What runs beside the service: the embedded PostgreSQL, child processes, code-set files
        // read from disk. The executable and the tests use it; the libraries do not.
        .target(
            name: "ClaimFlowHosting",
            dependencies: [
                "ClaimFlowCore",
                "ClaimFlowStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ClaimFlowAPI",
            dependencies: [
                "ClaimFlowCore",
                "ClaimFlowStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["Assets"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedTextFiles"]
        ),
        .target(
            name: "ClaimFlowWorkers",
            dependencies: [
                "ClaimFlowCore",
                "ClaimFlowStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "claimflow",
            dependencies: [
                "ClaimFlowCore",
                "ClaimFlowStore",
                "ClaimFlowHosting",
                "ClaimFlowAPI",
                "ClaimFlowWorkers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fresh databases and fixtures for the test targets; never linked into the binary.
        .target(
            name: "ClaimFlowTestSupport",
            dependencies: [
                "ClaimFlowCore",
                "ClaimFlowStore",
                "ClaimFlowHosting",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ClaimFlowTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClaimFlowCoreTests",
            dependencies: ["ClaimFlowCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClaimFlowStoreTests",
            dependencies: [
                "ClaimFlowTestSupport",
                "ClaimFlowHosting",
                "ClaimFlowCore",
                "ClaimFlowStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClaimFlowAPITests",
            dependencies: [
                "ClaimFlowTestSupport",
                "ClaimFlowHosting",
                "ClaimFlowWorkers",
                "ClaimFlowAPI",
                "ClaimFlowStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClaimFlowWorkersTests",
            dependencies: [
                "ClaimFlowTestSupport",
                "ClaimFlowHosting",
                "ClaimFlowWorkers",
                "ClaimFlowStore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClaimFlowCLITests",
            dependencies: [
                "ClaimFlowTestSupport",
                "ClaimFlowHosting",
                "ClaimFlowCore",
                "ClaimFlowStore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
