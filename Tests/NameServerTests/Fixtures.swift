import DCDNCore
import DNSKit
import Foundation
import GeoIP
import NodeProtocol

@testable import NameServer

enum Fixtures {
    static let geoIP = try! GeoIPDatabase(
        ipv4: Data("134744064,134744319,US\n1311244288,1311309823,DE\n16777216,16777471,AU\n".utf8),
        ipv6: Data(),
        locations: Data(
            "DE\t+5230+01322\tEurope/Berlin\nUS\t+404251-0740023\tAmerica/New_York\nAU\t-3352+15113\tAustralia/Sydney\nFR\t+4852+00220\tEurope/Paris\n"
                .utf8))

    static func node(_ name: String, region: String, country: String, ipv4: String, healthy: Bool = true, ipv6: String? = nil) -> NodeInfo {
        NodeInfo(
            id: UUID(), name: name, roles: ["edge"], region: region, country: country, latitude: nil, longitude: nil, ipv4: ipv4,
            ipv6: ipv6,
            healthy: healthy)
    }

    static let nodes = [
        node("fra", region: "eu-central", country: "DE", ipv4: "192.0.2.10", ipv6: "2001:db8::10"),
        node("par", region: "eu-west", country: "FR", ipv4: "192.0.2.11"),
        node("nyc", region: "us-east", country: "US", ipv4: "192.0.2.20"),
        node("syd", region: "ap-southeast", country: "AU", ipv4: "192.0.2.30"),
    ]

    static func record(_ name: String, _ type: String, _ content: String, ttl: Int = 300, priority: Int? = nil, proxied: Bool = false)
        -> DNSRecordConfig
    {
        DNSRecordConfig(name: name, type: type, content: content, ttl: ttl, priority: priority, proxied: proxied)
    }

    static func domain(
        _ name: String = "example.com", serial: UInt32 = 7, ha: Bool = false, fallback: Bool = false, records: [DNSRecordConfig]
    ) -> ZoneConfig {
        ZoneConfig(id: UUID(), name: name, serial: serial, multiNodeRedundancy: ha, dnsFallback: fallback, records: records)
    }

    static let exampleRecords = [
        record("@", "A", "198.51.100.1", proxied: true),
        record("www", "CNAME", "example.com", proxied: true),
        record("@", "MX", "mail.example.com", priority: 10),
        record("@", "TXT", "v=spf1 -all"),
        record("mail", "A", "198.51.100.25"),
        record("alias", "CNAME", "mail.example.com"),
        record("outside", "CNAME", "target.example.net"),
        record("loop1", "CNAME", "loop2.example.com"),
        record("loop2", "CNAME", "loop1.example.com"),
        record("*.apps", "A", "198.51.100.50"),
        record("deep.sub", "TXT", "deep"),
        record("_sip._tcp", "SRV", "5 5060 sip.example.com", priority: 10),
        record("@", "CAA", "0 issue \"letsencrypt.org\""),
        record("delegated", "NS", "ns1.other.example"),
        record("big", "TXT", String(repeating: "x", count: 4000)),
    ]

    static func zones(_ domains: [ZoneConfig]? = nil, nodes: [NodeInfo] = nodes) -> ZoneSet {
        ZoneSet(snapshot: snapshot(version: 1, domains ?? [domain(records: exampleRecords)], nodes: nodes), geoIP: geoIP)
    }

    static func snapshot(version: Int64, _ zones: [ZoneConfig], nodes: [NodeInfo] = nodes) -> NodeConfigSnapshot {
        NodeConfigSnapshot(
            version: version, full: true, nodes: nodes,
            dns: DNSConfig(
                zones: zones, nameservers: ["ns1.dcdn.test", "ns2.dcdn.test"], hostmaster: "hostmaster.dcdn.test",
                fallbackNameservers: ["ns3.dcdn.test"]))
    }

    static func query(_ name: String, _ type: DNSType, edns: EDNS? = EDNS(udpPayloadSize: 4096), id: UInt16 = 0x1234) -> DNSMessage {
        var message = DNSMessage(id: id)
        message.questions = [DNSQuestion(name: DNSName(name)!, type: type)]
        message.edns = edns
        return message
    }
}
