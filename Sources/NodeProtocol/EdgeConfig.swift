import DCDNCore
import Foundation

/// The edge role's section of the node feed: the sites it proxies (with their certificates and
/// private keys), cache purges and the network-wide protection settings. Sent to edge nodes only.
public struct EdgeConfig: Codable, Sendable, Equatable {
    public var domains: [EdgeDomainConfig]
    /// Cache purges: in a delta those after `since`, in a full snapshot those of the last day.
    public var purges: [PurgeCommand]
    /// Network-wide protection settings (sanctioned countries, the challenge clearance key).
    public var protection: ProtectionConfig?

    public init(domains: [EdgeDomainConfig] = [], purges: [PurgeCommand] = [], protection: ProtectionConfig? = nil) {
        self.domains = domains
        self.purges = purges
        self.protection = protection
    }

    func applying(_ delta: EdgeConfig, removed: Set<UUID>) -> EdgeConfig {
        var result = delta
        result.domains = merged(domains, delta.domains, removed: removed, id: \.id, name: \.name)
        // Kept so a restarted node knows which purges it already ran.
        let known = Set(delta.purges.map(\.id))
        result.purges = Array((purges.filter { !known.contains($0.id) } + delta.purges).suffix(PurgeCommand.retained))
        return result
    }
}

/// One customer domain as the edge serves it.
public struct EdgeDomainConfig: Codable, Sendable, Equatable {
    public var id: UUID
    /// ASCII (IDNA) name without the final dot, lower case.
    public var name: String
    public var origin: String
    public var sslMode: String
    public var cacheLevel: String
    public var browserTtl: Int
    public var edgeTtl: Int
    public var devModeUntil: Date?
    public var underAttack: Bool
    /// The proxied records: each names a host the edge answers for, and its origin.
    public var records: [DNSRecordConfig]
    /// In the order they are tried.
    public var pageRules: [PageRuleConfig]
    /// The TLS certificate edges present for the domain's names, once issued.
    public var certificate: CertificateConfig?
    /// ACME HTTP-01 answers the edges serve at `/.well-known/acme-challenge/<token>`.
    public var acmeChallenges: [String: String]?
    /// The domain's firewall: lists, rate limits, custom rules, WAF sensitivity.
    public var security: SecurityConfig?

    public init(
        id: UUID, name: String, origin: String, sslMode: String, cacheLevel: String, browserTtl: Int, edgeTtl: Int, devModeUntil: Date?,
        underAttack: Bool, records: [DNSRecordConfig], pageRules: [PageRuleConfig] = [], certificate: CertificateConfig? = nil,
        acmeChallenges: [String: String]? = nil, security: SecurityConfig? = nil
    ) {
        self.id = id
        self.name = name
        self.origin = origin
        self.sslMode = sslMode
        self.cacheLevel = cacheLevel
        self.browserTtl = browserTtl
        self.edgeTtl = edgeTtl
        self.devModeUntil = devModeUntil
        self.underAttack = underAttack
        self.records = records
        self.pageRules = pageRules
        self.certificate = certificate
        self.acmeChallenges = acmeChallenges
        self.security = security
    }
}

/// A certificate and its private key (PEM) for some of a domain's names ("*.example.com" covers
/// one label). The node API carries the key to edge nodes only; at rest the coordinator keeps it
/// encrypted.
public struct CertificateConfig: Codable, Sendable, Equatable {
    public var names: [String]
    /// Leaf first, then intermediates.
    public var chainPem: String
    public var keyPem: String
    public var notAfter: Date

    public init(names: [String], chainPem: String, keyPem: String, notAfter: Date) {
        self.names = names
        self.chainPem = chainPem
        self.keyPem = keyPem
        self.notAfter = notAfter
    }
}

/// `POST /cdn/domains/{id}/purge` as nodes receive it. Exactly one of the selectors is used.
public struct PurgeCommand: Codable, Sendable, Equatable {
    /// Increasing: the configuration version the purge was published at.
    public var id: Int64
    public var domain: String
    public var everything: Bool
    /// Full URLs (`https://host/path?query`) or `host/path?query`.
    public var urls: [String]
    /// URL prefixes, same forms.
    public var prefixes: [String]
    /// Cache-Tag values.
    public var tags: [String]

    /// How many past purges a node keeps to know which ones it already ran.
    public static let retained = 1000

    public init(id: Int64, domain: String, everything: Bool, urls: [String], prefixes: [String], tags: [String]) {
        self.id = id
        self.domain = domain
        self.everything = everything
        self.urls = urls
        self.prefixes = prefixes
        self.tags = tags
    }
}
