import Foundation

/// What `GET /api/v1/node-api/config` returns: every domain a role serves and every node, at a
/// configuration `version`. With `since`, `full` is false and `domains` holds only the domains
/// changed after `since` and `removedDomains` those deleted; nodes are always complete (they are
/// few and their health changes often).
public struct NodeConfigSnapshot: Codable, Sendable, Equatable {
    public var version: Int64
    public var full: Bool
    public var domains: [DomainConfig]
    public var removedDomains: [UUID]
    public var nodes: [NodeInfo]
    /// The platform's nameservers: NS records at every apex, and the SOA's primary.
    public var nameservers: [String]
    /// Where SOA RNAME points (hostmaster mailbox in DNS form).
    public var hostmaster: String
    /// Cache purges: in a delta those after `since`, in a full snapshot those of the last day.
    public var purges: [PurgeCommand]
    /// Network-wide protection settings (sanctioned countries, the challenge clearance key).
    public var protection: ProtectionConfig?

    public init(
        version: Int64, full: Bool, domains: [DomainConfig], removedDomains: [UUID], nodes: [NodeInfo], nameservers: [String],
        hostmaster: String, purges: [PurgeCommand] = [], protection: ProtectionConfig? = nil
    ) {
        self.purges = purges
        self.protection = protection
        self.version = version
        self.full = full
        self.domains = domains
        self.removedDomains = removedDomains
        self.nodes = nodes
        self.nameservers = nameservers
        self.hostmaster = hostmaster
    }

    /// Applies a delta to this full snapshot.
    public func applying(_ delta: NodeConfigSnapshot) -> NodeConfigSnapshot {
        if delta.full { return delta }
        var byID = Dictionary(uniqueKeysWithValues: domains.map { ($0.id, $0) })
        for id in delta.removedDomains { byID.removeValue(forKey: id) }
        for domain in delta.domains { byID[domain.id] = domain }
        var result = delta
        result.full = true
        result.domains = byID.values.sorted { $0.name < $1.name }
        result.removedDomains = []
        // Kept so a restarted node knows which purges it already ran.
        let known = Set(delta.purges.map(\.id))
        result.purges = (purges.filter { !known.contains($0.id) } + delta.purges).suffix(PurgeCommand.retained)
        return result
    }
}

/// One customer domain as roles need it.
public struct DomainConfig: Codable, Sendable, Equatable {
    public var id: UUID
    /// ASCII (IDNA) name without the final dot, lower case.
    public var name: String
    /// SOA serial: changes with every edit of the domain or its records.
    public var serial: UInt32
    public var origin: String
    public var sslMode: String
    public var cacheLevel: String
    public var browserTtl: Int
    public var edgeTtl: Int
    public var devModeUntil: Date?
    public var underAttack: Bool
    public var multiNodeRedundancy: Bool
    public var dnsFallback: Bool
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
        id: UUID, name: String, serial: UInt32, origin: String, sslMode: String, cacheLevel: String, browserTtl: Int, edgeTtl: Int,
        devModeUntil: Date?, underAttack: Bool, multiNodeRedundancy: Bool, dnsFallback: Bool, records: [DNSRecordConfig],
        pageRules: [PageRuleConfig] = [], certificate: CertificateConfig? = nil, acmeChallenges: [String: String]? = nil,
        security: SecurityConfig? = nil
    ) {
        self.security = security
        self.pageRules = pageRules
        self.certificate = certificate
        self.acmeChallenges = acmeChallenges
        self.id = id
        self.name = name
        self.serial = serial
        self.origin = origin
        self.sslMode = sslMode
        self.cacheLevel = cacheLevel
        self.browserTtl = browserTtl
        self.edgeTtl = edgeTtl
        self.devModeUntil = devModeUntil
        self.underAttack = underAttack
        self.multiNodeRedundancy = multiNodeRedundancy
        self.dnsFallback = dnsFallback
        self.records = records
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

/// A DNS record as stored: `name` relative to the zone ("@" for the apex), `content` in the
/// normalised presentation form `DNSRecordContent` produces.
public struct DNSRecordConfig: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    public var content: String
    public var ttl: Int
    public var priority: Int?
    public var proxied: Bool

    public init(name: String, type: String, content: String, ttl: Int, priority: Int?, proxied: Bool) {
        self.name = name
        self.type = type
        self.content = content
        self.ttl = ttl
        self.priority = priority
        self.proxied = proxied
    }
}

/// A machine of a node operator.
public struct NodeInfo: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var roles: [String]
    public var region: String
    public var country: String
    public var latitude: Double?
    public var longitude: Double?
    public var ipv4: String?
    public var ipv6: String?
    /// Heartbeats arrived within the last 15 s.
    public var healthy: Bool

    public init(
        id: UUID, name: String, roles: [String], region: String, country: String, latitude: Double?, longitude: Double?, ipv4: String?,
        ipv6: String?, healthy: Bool
    ) {
        self.id = id
        self.name = name
        self.roles = roles
        self.region = region
        self.country = country
        self.latitude = latitude
        self.longitude = longitude
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.healthy = healthy
    }

    public var isEdge: Bool { roles.contains("edge") }
}

/// `POST /api/v1/node-api/register`.
public struct NodeRegistration: Codable, Sendable, Equatable {
    public var role: String
    public var name: String?
    public var region: String?
    public var country: String?
    public var latitude: Double?
    public var longitude: Double?
    public var ipv4: String?
    public var ipv6: String?
    public var capacity: Int?

    public init(
        role: String, name: String? = nil, region: String? = nil, country: String? = nil, latitude: Double? = nil, longitude: Double? = nil,
        ipv4: String? = nil, ipv6: String? = nil, capacity: Int? = nil
    ) {
        self.role = role
        self.name = name
        self.region = region
        self.country = country
        self.latitude = latitude
        self.longitude = longitude
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.capacity = capacity
    }
}

/// `POST /api/v1/node-api/report`: a heartbeat with the counters of the last window.
public struct NodeReport: Codable, Sendable, Equatable {
    public struct DomainCounters: Codable, Sendable, Equatable {
        public var domain: String
        public var requests: Int64
        public var bytes: Int64
        public var cacheHits: Int64
        public var status2xx: Int64
        public var status3xx: Int64
        public var status4xx: Int64
        public var status5xx: Int64
        public var blocked: Int64
        public var challenged: Int64
        /// Requests by the visitor's country (two letters; "XX" unknown).
        public var countries: [String: Int64]?
        /// Blocked or challenged requests by mitigation (`Mitigation` raw values).
        public var mitigations: [String: Int64]?

        public init(domain: String) {
            self.domain = domain
            requests = 0
            bytes = 0
            cacheHits = 0
            status2xx = 0
            status3xx = 0
            status4xx = 0
            status5xx = 0
            blocked = 0
            challenged = 0
        }
    }
    public var configVersion: Int64?
    public var windowSeconds: Int
    public var dnsQueries: Int64?
    public var domains: [DomainCounters]
    /// Attacks this node saw begin, continue or end in the window.
    public var attacks: [AttackEvent]

    enum CodingKeys: String, CodingKey { case configVersion, windowSeconds, dnsQueries, domains, attacks }

    /// A bare heartbeat (no counters) is a valid report.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        configVersion = try container.decodeIfPresent(Int64.self, forKey: .configVersion)
        windowSeconds = try container.decodeIfPresent(Int.self, forKey: .windowSeconds) ?? 0
        dnsQueries = try container.decodeIfPresent(Int64.self, forKey: .dnsQueries)
        domains = try container.decodeIfPresent([DomainCounters].self, forKey: .domains) ?? []
        attacks = try container.decodeIfPresent([AttackEvent].self, forKey: .attacks) ?? []
    }

    public init(
        configVersion: Int64?, windowSeconds: Int, dnsQueries: Int64? = nil, domains: [DomainCounters] = [], attacks: [AttackEvent] = []
    ) {
        self.attacks = attacks
        self.configVersion = configVersion
        self.windowSeconds = windowSeconds
        self.dnsQueries = dnsQueries
        self.domains = domains
    }
}

extension JSONEncoder {
    /// The node API's wire form: snake_case keys, RFC 3339 times.
    public static var nodeAPI: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    public static var nodeAPI: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
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
