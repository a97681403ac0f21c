import DCDNCore
import DNSKit
import Foundation
import NodeProtocol

/// The records of one type at one name.
public struct RRSet: Sendable {
    public var ttl: UInt32
    public var data: [DNSRData]
}

/// One customer zone, immutable, built from the coordinator's `ZoneConfig`.
public struct Zone: Sendable {
    public let apex: DNSName
    public let serial: UInt32
    /// owner key → type → records
    let rrsets: [String: [UInt16: RRSet]]
    /// Proxied owners (A/AAAA answered with edge nodes) → answer TTL.
    let proxied: [String: UInt32]
    /// With DNS fallback, proxied owners' own records (the origin), answered with `fallbackTTL`
    /// while no edge node is healthy.
    let fallback: [String: [UInt16: RRSet]]
    /// Every owner and every empty non-terminal between an owner and the apex.
    let names: Set<String>
    /// Owners of NS records below the apex: delegations to other servers.
    let delegations: Set<String>
    public let multiNodeRedundancy: Bool
    public let dnsFallback: Bool
    let soa: DNSRecord

    public static let defaultTTL: UInt32 = 300
    public static let proxiedTTL: UInt32 = 60
    public static let nameserverTTL: UInt32 = 86_400
    /// The TTL of an origin answered by DNS fallback: resolvers come back to the edges within
    /// about this long after one is healthy again.
    public static let fallbackTTL: UInt32 = 30

    /// `fallbackNameservers` join the apex NS set when the domain has DNS fallback.
    public init(domain: ZoneConfig, nameservers: [String], fallbackNameservers: [String] = [], hostmaster: String) {
        let apex = DNSName(domain.name) ?? .root
        self.apex = apex
        serial = domain.serial
        multiNodeRedundancy = domain.multiNodeRedundancy
        dnsFallback = domain.dnsFallback
        let apexKey = apex.key
        var rrsets: [String: [UInt16: RRSet]] = [:]
        var proxied: [String: UInt32] = [:]
        var delegations: Set<String> = []
        var fallback: [String: [UInt16: RRSet]] = [:]
        func add(_ key: String, _ type: DNSType, ttl: UInt32, _ data: DNSRData, to sets: inout [String: [UInt16: RRSet]]) {
            var set = sets[key, default: [:]][type.rawValue] ?? RRSet(ttl: ttl, data: [])
            set.ttl = min(set.ttl, ttl)
            if !set.data.contains(data) { set.data.append(data) }
            sets[key, default: [:]][type.rawValue] = set
        }
        func add(_ key: String, _ type: DNSType, ttl: UInt32, _ data: DNSRData) { add(key, type, ttl: ttl, data, to: &rrsets) }
        let primary = DNSName(nameservers.first ?? "ns1.dcdn.invalid") ?? .root
        soa = DNSRecord(
            name: apex, type: .soa, ttl: 3600,
            data: .soa(
                mname: primary, rname: DNSName(hostmaster) ?? .root, serial: domain.serial, refresh: 3600, retry: 600, expire: 1_209_600,
                minimum: 300))
        add(apexKey, .soa, ttl: 3600, soa.data)
        for server in nameservers + (domain.dnsFallback ? fallbackNameservers : []) {
            if let name = DNSName(server) { add(apexKey, .ns, ttl: Self.nameserverTTL, .ns(name)) }
        }
        for record in domain.records {
            let key = record.name == "@" ? apexKey : "\(record.name).\(apexKey)"
            // Apex NS and SOA belong to the platform.
            if key == apexKey, record.type == "NS" || record.type == "SOA" { continue }
            let ttl = record.ttl == 0 ? Self.defaultTTL : UInt32(clamping: record.ttl)
            if record.proxied, DNSRecordContent.proxiableTypes.contains(record.type) {
                proxied[key] = Self.proxiedTTL
                if domain.dnsFallback, let type = DNSType(name: record.type), let data = Self.rdata(record) {
                    add(key, type, ttl: Self.fallbackTTL, data, to: &fallback)
                }
                continue
            }
            guard let type = DNSType(name: record.type), let data = Self.rdata(record) else { continue }
            if type == .ns { delegations.insert(key) }
            add(key, type, ttl: ttl, data)
        }
        var names: Set<String> = []
        for owner in Set(rrsets.keys).union(proxied.keys) {
            var name = DNSName(owner)
            while let current = name, current.isSubdomain(of: apex) {
                names.insert(current.key)
                name = current.parent
            }
        }
        self.rrsets = rrsets
        self.proxied = proxied
        self.fallback = fallback
        self.names = names
        self.delegations = delegations
    }

    /// Wire data for a stored record; nil for content that no longer parses.
    static func rdata(_ record: DNSRecordConfig) -> DNSRData? {
        switch record.type {
        case "A", "AAAA":
            guard let address = IPAddress(record.content) else { return nil }
            return address.isIPv4 ? .a(address.bytes) : .aaaa(address.bytes)
        case "CNAME": return DNSName(record.content).map(DNSRData.cname)
        case "NS": return DNSName(record.content).map(DNSRData.ns)
        case "MX": return DNSName(record.content).map { .mx(preference: UInt16(clamping: record.priority ?? 10), exchange: $0) }
        case "TXT":
            // Strings of at most 255 bytes each (RFC 1035 §3.3.14).
            let bytes = Array(record.content.utf8)
            return .txt(stride(from: 0, to: max(bytes.count, 1), by: 255).map { Array(bytes[$0..<min($0 + 255, bytes.count)]) })
        case "SRV":
            let fields = record.content.split(separator: " ")
            guard fields.count == 3, let weight = UInt16(fields[0]), let port = UInt16(fields[1]), let target = DNSName(String(fields[2]))
            else {
                return nil
            }
            return .srv(priority: UInt16(clamping: record.priority ?? 10), weight: weight, port: port, target: target)
        case "CAA":
            let parts = record.content.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let flags = UInt8(parts[0]) else { return nil }
            return .caa(
                flags: flags, tag: Array(parts[1].utf8),
                value: Array(parts[2].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).utf8))
        default: return nil
        }
    }
}
