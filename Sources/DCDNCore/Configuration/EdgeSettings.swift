import Foundation

/// What an edge node reads: its `edge.*` section (`DCDN_EDGE_*`, `{"edge": {…}}`), plus the
/// image sources shared with the coordinator's image endpoint. docs/configuration.md, "Edge".
public struct EdgeSettings: Sendable {
    public var httpPort: Int
    public var httpsPort: Int
    /// Memory tier and disk tier of the cache, MiB (the disk tier lives in data_dir/cache).
    public var cacheMemoryMB: Int
    public var cacheDiskMB: Int
    /// Seconds the edge waits for an origin's response before answering 504.
    public var originTimeout: Int
    /// Extra PEM roots the edge trusts for origin certificates in strict mode.
    public var originCABundle: String?
    /// Connection-level and flood defences.
    public var protection: EdgeProtectionSettings
    /// Image sources allowed to be private, by host name, each pinned to `address[:port]`
    /// (`image_private_sources`, top level: the coordinator's image endpoint reads it too).
    public var imagePrivateSources: [String: String]
    /// Which addresses may be origins (`private_origins`, top level: the coordinator checks
    /// origins against the same policy); dev allows loopback.
    public var originPolicy: OriginAddressPolicy

    /// - Parameter dev: `dcdn dev`'s defaults (ports above 1024).
    public init(_ settings: SettingsReader, dev: Bool) throws {
        let edge = settings.scoped(to: "edge")
        httpPort = try edge.int("http_port", dev ? 8081 : 80, 0...65535)
        httpsPort = try edge.int("https_port", dev ? 8443 : 443, 0...65535)
        cacheMemoryMB = try edge.int("cache_memory_mb", 256, 1...1_048_576)
        cacheDiskMB = try edge.int("cache_disk_mb", 10_240, 0...100_000_000)
        originTimeout = try edge.int("origin_timeout", 100, 1...3600)
        originCABundle = edge.string("origin_ca_bundle")
        protection = EdgeProtectionSettings(
            maxConnectionsPerIP: try edge.int("max_connections_per_ip", 256, 1...1_000_000),
            headerTimeout: try edge.int("header_timeout", 10, 1...600),
            minBodyRate: try edge.int("min_body_rate", 512, 0...100_000_000),
            maxHeaderBytes: try edge.int("max_header_bytes", 32_768, 1024...1_048_576),
            maxHeaderCount: try edge.int("max_header_count", 100, 10...10_000),
            maxConcurrentRequests: try edge.int("max_concurrent_requests", 10_000, 1...1_000_000),
            floodClientRPS: try edge.int("flood_client_rps", 100, 1...100_000_000),
            floodDomainRPS: try edge.int("flood_domain_rps", 2_000, 1...100_000_000),
            testCountryHeader: edge.string("test_country_header"),
            enabled: edge.flag("security") ?? true)
        imagePrivateSources = try Self.pins(settings)
        originPolicy = try Self.originPolicy(settings, dev: dev)
    }

    /// `private_origins`: internal address ranges (CIDR or single addresses) allowed as origins
    /// all the same; loopback is allowed in dev.
    static func originPolicy(_ settings: SettingsReader, dev: Bool) throws -> OriginAddressPolicy {
        var allowed: [CIDR] = []
        for item in settings.list("private_origins") {
            guard let range = CIDR(item) else {
                throw SettingsError(
                    key: settings.key("private_origins"), message: "items are address ranges, e.g. 10.20.0.0/16 or fd00:1::/64")
            }
            allowed.append(range)
        }
        return OriginAddressPolicy(allowLoopback: dev, allowed: allowed)
    }

    /// `image_private_sources`: `host=address[:port]` items.
    static func pins(_ settings: SettingsReader) throws -> [String: String] {
        var pins: [String: String] = [:]
        for item in settings.list("image_private_sources") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw SettingsError(
                    key: settings.key("image_private_sources"),
                    message: "items are host=address[:port], e.g. images.internal=10.0.0.5:8080")
            }
            pins[parts[0].lowercased()] = parts[1]
        }
        return pins
    }
}
