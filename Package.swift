// swift-tools-version: 6.1
import PackageDescription

/// The strict settings Hummingbird builds with: `any` spelled out for existentials, and a file
/// sees only the members of modules it imports itself.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The edge's hot path crosses into these libraries on every request: their bodies are made
/// available to the edge's optimiser, as they were when the code lived in the edge's module.
let hotPathSettings = swiftSettings + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "dcdn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dcdn", targets: ["dcdn"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", from: "1.7.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // The API contract as typed values; external reference loading is not needed (and builds slower).
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0", traits: []),
    ],
    targets: [
        // Shared model: IDs, money, plans and limits, configuration, errors.
        .target(
            name: "DCDNCore",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: swiftSettings
        ),
        // The node API's wire types: one configuration section per role, reports, registration.
        .target(name: "NodeProtocol", dependencies: ["DCDNCore"], swiftSettings: swiftSettings),
        // Country of an IP address and where that country is (GeoDNS, WAF country rules).
        .target(name: "GeoIP", dependencies: ["DCDNCore"], swiftSettings: swiftSettings),
        // DNS wire format and TSIG: a leaf library for the nameserver and the coordinator's checks.
        .target(
            name: "DNSKit",
            dependencies: [
                "DCDNCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ], swiftSettings: swiftSettings
        ),
        // A role's client of the node API: register, long-poll configuration, heartbeat.
        .target(
            name: "NodeAgent",
            dependencies: [
                "DCDNCore", "NodeProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: swiftSettings
        ),
        // Authoritative GeoDNS: wire format, zones, UDP/TCP listeners, AXFR/NOTIFY with TSIG.
        .target(
            name: "NameServer",
            dependencies: [
                "DCDNCore", "NodeProtocol", "DNSKit", "GeoIP", "NodeAgent",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: swiftSettings
        ),
        // System zlib and Brotli encoders (Debian's zlib1g-dev and libbrotli-dev).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CBrotli", providers: [.apt(["libbrotli-dev"])]),
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        // RFC 8555 ACME client: accounts, orders, challenges, CSRs, renewal information.
        .target(
            name: "ACMEKit",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ], swiftSettings: swiftSettings
        ),
        // The image pipeline (libvips) and the SSRF-safe source fetch, for the edge and the coordinator.
        .target(
            name: "ImageKit",
            dependencies: [
                "DCDNCore", "CVips",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: swiftSettings
        ),
        // RFC 9111 HTTP cache: policy, the memory and disk store, request collapsing. Knows
        // nothing of the proxy.
        .target(
            name: "HTTPCache",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ], swiftSettings: hotPathSettings
        ),
        // The firewall's rule engine: managed WAF rules, custom rules and rate-limit matching,
        // client addresses and ranges.
        .target(
            name: "WAFKit",
            dependencies: [
                "DCDNCore", "NodeProtocol", "GeoIP",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ], swiftSettings: hotPathSettings
        ),
        // The edge: caching reverse proxy to customers' origins.
        .target(
            name: "EdgeNode",
            dependencies: [
                "DCDNCore", "NodeProtocol", "NodeAgent", "HTTPCache", "WAFKit", "ImageKit", "GeoIP", "CZlib", "CBrotli",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: swiftSettings
        ),
        // Outbound mail over SMTP: a leaf library so that any role may send mail.
        .target(
            name: "SMTPKit",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: swiftSettings
        ),
        // The control plane: API, dashboard, persistence, jobs.
        .target(
            name: "Coordinator",
            dependencies: [
                "DCDNCore",
                "NodeProtocol",
                "DNSKit",
                "SMTPKit",
                "ImageKit",
                "ACMEKit",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ],
            resources: [.copy("Dashboard/Templates"), .copy("Dashboard/Assets")], swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dcdn",
            dependencies: [
                "DCDNCore",
                "NodeProtocol",
                "HTTPCache",
                "ImageKit",
                "Coordinator",
                "NameServer",
                "EdgeNode",
                "GeoIP",
                "NodeAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DCDNCoreTests", dependencies: ["DCDNCore", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings),
        .testTarget(name: "SMTPKitTests", dependencies: ["SMTPKit"], swiftSettings: swiftSettings),
        .testTarget(name: "GeoIPTests", dependencies: ["GeoIP"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EdgeNodeTests",
            dependencies: [
                "EdgeNode", "NodeProtocol", "HTTPCache", "WAFKit", "GeoIP", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ], swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTPCacheTests",
            dependencies: [
                "HTTPCache", .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: swiftSettings),
        .testTarget(
            name: "WAFKitTests",
            dependencies: [
                "WAFKit", "DCDNCore", "NodeProtocol", "GeoIP", .product(name: "HTTPTypes", package: "swift-http-types"),
            ], exclude: ["Payloads"], swiftSettings: swiftSettings),
        .testTarget(name: "ImageKitTests", dependencies: ["ImageKit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ACMEKitTests",
            dependencies: [
                "ACMEKit", .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
            ], swiftSettings: swiftSettings),
        .testTarget(
            name: "NameServerTests",
            dependencies: ["NameServer", "NodeProtocol", "DNSKit", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CoordinatorTests",
            dependencies: [
                "Coordinator",
                "ImageKit",
                "NodeProtocol",
                "SMTPKit",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ], swiftSettings: swiftSettings
        ),
    ]
)
