import FluentKit
import Foundation

/// A machine of a node operator running one or more roles (edge, dns, mail).
public final class Node: Model, @unchecked Sendable {
    public static let schema = "nodes"
    public static let roles = ["edge", "dns", "mail"]

    @ID(key: .id) public var id: UUID?
    @Field(key: "name") public var name: String
    @Field(key: "roles") public var roles: [String]
    @Field(key: "region") public var region: String
    /// ISO 3166 alpha-2.
    @Field(key: "country") public var country: String
    @OptionalField(key: "latitude") public var latitude: Double?
    @OptionalField(key: "longitude") public var longitude: Double?
    @OptionalField(key: "ipv4") public var ipv4: String?
    @OptionalField(key: "ipv6") public var ipv6: String?
    /// For a nameserver: the public host name it answers as (e.g. `ns2.dcdn.example`), which
    /// zones with DNS fallback add to their NS set when its region is not yet covered.
    @OptionalField(key: "hostname") public var hostname: String?
    /// Relative capacity, e.g. requests per second it is sized for.
    @Field(key: "capacity") public var capacity: Int
    /// SHA-256 of the node token; the token is shown once.
    @Field(key: "token_hash") public var tokenHash: String
    /// Addresses the node may call the node API from; empty allows any.
    @Field(key: "ip_allowlist") public var ipAllowlist: [String]
    @Field(key: "healthy") public var healthy: Bool
    @OptionalField(key: "last_heartbeat_at") public var lastHeartbeatAt: Date?
    @OptionalField(key: "config_version_seen") public var configVersionSeen: Int64?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}

/// The single row holding the configuration version every change increments.
final class ConfigState: Model, @unchecked Sendable {
    static let schema = "config_state"

    @ID(custom: "id", generatedBy: .user) var id: Int?
    @Field(key: "version") var version: Int64

    init() {}

    init(id: Int, version: Int64) {
        self.id = id
        self.version = version
    }
}

/// Per-domain traffic counters by minute, as nodes report them.
final class TrafficCounter: Model, @unchecked Sendable {
    static let schema = "traffic_counters"

    @ID(key: .id) var id: UUID?
    @Field(key: "domain_name") var domainName: String
    @Field(key: "minute") var minute: Date
    @Field(key: "requests") var requests: Int64
    @Field(key: "bytes") var bytes: Int64
    @Field(key: "cache_hits") var cacheHits: Int64
    @Field(key: "status_2xx") var status2xx: Int64
    @Field(key: "status_3xx") var status3xx: Int64
    @Field(key: "status_4xx") var status4xx: Int64
    @Field(key: "status_5xx") var status5xx: Int64
    @Field(key: "blocked") var blocked: Int64
    @Field(key: "challenged") var challenged: Int64

    init() {}
}
