import FluentKit
import Foundation

/// A customer's domain: DCDN hosts its DNS and proxies the names marked proxied.
public final class Domain: Model, @unchecked Sendable {
    public static let schema = "domains"

    public enum Status: String, Codable, Sendable { case pending, active }
    public enum SSLMode: String, Codable, Sendable, CaseIterable { case off, flexible, full, strict }
    public enum CacheLevel: String, Codable, Sendable, CaseIterable { case standard, aggressive, bypass }

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var owner: User
    /// ASCII (IDNA) form, lower case, no final dot; unique across the platform.
    @Field(key: "name") public var name: String
    /// IP address or host name, optionally with ":port".
    @Field(key: "origin") public var origin: String
    @Field(key: "status") public var status: Status
    @Field(key: "ssl_mode") public var sslMode: SSLMode
    @Field(key: "cache_level") public var cacheLevel: CacheLevel
    @Field(key: "browser_ttl") public var browserTTL: Int
    @Field(key: "edge_ttl") public var edgeTTL: Int
    @OptionalField(key: "dev_mode_until") public var devModeUntil: Date?
    @Field(key: "under_attack") public var underAttack: Bool
    @Field(key: "multi_node_redundancy") public var multiNodeRedundancy: Bool
    @Field(key: "dns_fallback") public var dnsFallback: Bool
    /// The configuration version of the last change; also the zone's SOA serial.
    @Field(key: "config_version") public var configVersion: Int64
    @OptionalField(key: "activated_at") public var activatedAt: Date?
    @OptionalField(key: "delegation_checked_at") public var delegationCheckedAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?
    @Children(for: \.$domain) public var records: [DomainRecord]

    public init() {}

    public var serial: UInt32 { UInt32(truncatingIfNeeded: configVersion) }
}

/// One DNS record of a domain. `name` is relative ("@" is the apex); `content` is normalised by
/// `DNSRecordContent`.
public final class DomainRecord: Model, @unchecked Sendable {
    public static let schema = "dns_records"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "domain_id") public var domain: Domain
    @Field(key: "name") public var name: String
    @Field(key: "type") public var type: String
    @Field(key: "content") public var content: String
    /// 0 is "auto" (300 s, or 60 s when proxied).
    @Field(key: "ttl") public var ttl: Int
    @OptionalField(key: "priority") public var priority: Int?
    @Field(key: "proxied") public var proxied: Bool
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    public init(domainID: UUID, name: String, type: String, content: String, ttl: Int, priority: Int?, proxied: Bool) {
        self.$domain.id = domainID
        self.name = name
        self.type = type
        self.content = content
        self.ttl = ttl
        self.priority = priority
        self.proxied = proxied
    }
}

/// A deleted domain, kept so configuration deltas can tell nodes to drop it.
final class DomainTombstone: Model, @unchecked Sendable {
    static let schema = "domain_tombstones"

    @ID(key: .id) var id: UUID?
    @Field(key: "domain_id") var domainID: UUID
    @Field(key: "version") var version: Int64
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(domainID: UUID, version: Int64) {
        self.domainID = domainID
        self.version = version
    }
}
