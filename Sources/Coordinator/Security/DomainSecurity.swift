import DCDNCore
import FluentKit
import Foundation
import NodeProtocol

/// A domain's firewall settings (one row per domain, created on first edit; absent means the
/// defaults). Rate limits and custom rules are short ordered lists kept as JSON with the row.
public final class DomainSecurity: Model, @unchecked Sendable {
    public static let schema = "domain_security"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "domain_id") var domain: Domain
    @Field(key: "ip_allow") public var ipAllow: [String]
    @Field(key: "ip_block") public var ipBlock: [String]
    @Field(key: "country_allow") public var countryAllow: [String]
    @Field(key: "country_block") public var countryBlock: [String]
    @Field(key: "waf_sensitivity") public var wafSensitivity: String
    @Field(key: "clearance_minutes") public var clearanceMinutes: Int
    @Field(key: "rate_limits") var rateLimitsJSON: String
    @Field(key: "firewall_rules") var firewallRulesJSON: String
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    init(domainID: UUID) {
        $domain.id = domainID
        let defaults = SecurityConfig()
        ipAllow = defaults.ipAllow
        ipBlock = defaults.ipBlock
        countryAllow = defaults.countryAllow
        countryBlock = defaults.countryBlock
        wafSensitivity = defaults.wafSensitivity
        clearanceMinutes = defaults.clearanceMinutes
        rateLimitsJSON = "[]"
        firewallRulesJSON = "[]"
    }

    var rateLimits: [RateLimitRuleConfig] {
        get { (try? JSONDecoder.nodeAPI.decode([RateLimitRuleConfig].self, from: Data(rateLimitsJSON.utf8))) ?? [] }
        set { rateLimitsJSON = String(decoding: (try? JSONEncoder.nodeAPI.encode(newValue)) ?? Data("[]".utf8), as: UTF8.self) }
    }

    var firewallRules: [FirewallRuleConfig] {
        get { (try? JSONDecoder.nodeAPI.decode([FirewallRuleConfig].self, from: Data(firewallRulesJSON.utf8))) ?? [] }
        set { firewallRulesJSON = String(decoding: (try? JSONEncoder.nodeAPI.encode(newValue)) ?? Data("[]".utf8), as: UTF8.self) }
    }

    var config: SecurityConfig {
        SecurityConfig(
            ipAllow: ipAllow, ipBlock: ipBlock, countryAllow: countryAllow, countryBlock: countryBlock, wafSensitivity: wafSensitivity,
            clearanceMinutes: clearanceMinutes, rateLimits: rateLimits, firewallRules: firewallRules)
    }
}

/// An attack as edges reported it; reports of the same attack from several nodes merge into one
/// row while it lasts.
public final class AttackRecord: Model, @unchecked Sendable {
    public static let schema = "attacks"

    @ID(key: .id) public var id: UUID?
    /// Nil for an attack on a node before any Host was sent (operators see those).
    @OptionalField(key: "domain_name") public var domainName: String?
    @Field(key: "type") public var type: String
    @Field(key: "severity") public var severity: String
    @Field(key: "peak_rps") public var peakRPS: Int
    @Field(key: "requests") public var requests: Int64
    @Field(key: "source_ips") public var sourceIPs: [String]
    @Field(key: "source_countries") public var sourceCountries: [String]
    @Field(key: "mitigation") public var mitigation: String
    @Field(key: "started_at") public var startedAt: Date
    @OptionalField(key: "ended_at") public var endedAt: Date?
    /// The nodes' own IDs for this attack.
    @Field(key: "reports") public var reports: [String]
    @Field(key: "nodes") public var nodes: [String]
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    public var status: String { endedAt == nil ? "active" : "mitigated" }
}

/// Requests per domain and hour by country, and blocked or challenged ones by mitigation.
final class TrafficBreakdown: Model, @unchecked Sendable {
    static let schema = "traffic_breakdowns"

    @ID(key: .id) var id: UUID?
    @Field(key: "domain_name") var domainName: String
    @Field(key: "hour") var hour: Date
    /// "country" or "mitigation".
    @Field(key: "dimension") var dimension: String
    @Field(key: "key") var key: String
    @Field(key: "requests") var requests: Int64

    init() {}
}
