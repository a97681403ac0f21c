import Foundation

/// The nameserver role's section of the node feed: zones and the platform's NS/SOA names. Holds
/// no key material.
public struct DNSConfig: Codable, Sendable, Equatable {
    public var zones: [ZoneConfig]
    /// The platform's nameservers: NS records at every apex, and the SOA's primary.
    public var nameservers: [String]
    /// Where SOA RNAME points (hostmaster mailbox in DNS form).
    public var hostmaster: String
    /// Nameserver host names that zones with DNS fallback publish besides `nameservers`, so that
    /// their NS set spans at least two regions (nil from coordinators before this field).
    public var fallbackNameservers: [String]?

    public init(zones: [ZoneConfig] = [], nameservers: [String] = [], hostmaster: String = "", fallbackNameservers: [String] = []) {
        self.zones = zones
        self.nameservers = nameservers
        self.hostmaster = hostmaster
        self.fallbackNameservers = fallbackNameservers
    }

    func applying(_ delta: DNSConfig, removed: Set<UUID>) -> DNSConfig {
        var result = delta
        result.zones = merged(zones, delta.zones, removed: removed, id: \.id, name: \.name)
        return result
    }
}

/// One customer zone as nameservers answer it.
public struct ZoneConfig: Codable, Sendable, Equatable {
    public var id: UUID
    /// ASCII (IDNA) name without the final dot, lower case.
    public var name: String
    /// SOA serial: changes with every edit of the domain or its records.
    public var serial: UInt32
    public var multiNodeRedundancy: Bool
    /// With no healthy edge node anywhere, proxied names answer with their origin (DNS-only) and
    /// a short TTL, and the NS set adds `DNSConfig.fallbackNameservers`.
    public var dnsFallback: Bool
    public var records: [DNSRecordConfig]

    public init(id: UUID, name: String, serial: UInt32, multiNodeRedundancy: Bool, dnsFallback: Bool, records: [DNSRecordConfig]) {
        self.id = id
        self.name = name
        self.serial = serial
        self.multiNodeRedundancy = multiNodeRedundancy
        self.dnsFallback = dnsFallback
        self.records = records
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
