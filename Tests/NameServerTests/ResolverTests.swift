import DCDNCore
import DNSKit
import Foundation
import Logging
import NIOCore
import NodeProtocol
import Testing

@testable import NameServer

@Suite("Authoritative answers")
struct ResolverTests {
    let resolver = AuthoritativeResolver()
    let zones = Fixtures.zones()

    func ask(_ name: String, _ type: DNSType, from client: String? = "203.0.113.1", edns: EDNS? = EDNS(udpPayloadSize: 4096)) throws
        -> DNSMessage
    {
        let query = Fixtures.query(name, type, edns: edns)
        // Through the wire both ways, as a real client would see it.
        let parsed = try DNSMessage(bytes: query.encode())
        let response = try #require(resolver.respond(to: parsed, from: client.flatMap(IPAddress.init), zones: zones))
        return try DNSMessage(bytes: response.encode())
    }

    @Test("SOA and NS at the apex, authoritative, case preserved")
    func apex() throws {
        let soa = try ask("Example.COM", .soa)
        #expect(soa.authoritative)
        #expect(soa.rcode == 0)
        #expect(soa.answers.first?.name.description == "Example.COM.")
        guard case .soa(let mname, _, let serial, _, _, _, _) = soa.answers.first?.data else { Issue.record("no SOA"); return }
        #expect(mname == DNSName("ns1.dcdn.test"))
        #expect(serial == 7)
        let ns = try ask("example.com", .ns)
        #expect(Set(ns.answers.map { "\($0.data)" }).count == 2)
    }

    @Test("NXDOMAIN and NODATA both carry the SOA")
    func negative() throws {
        let nx = try ask("nope.example.com", .a)
        #expect(nx.rcode == UInt16(DNSRCode.nxDomain.rawValue))
        #expect(nx.authorities.first?.type == .soa)
        #expect(nx.authorities.first?.ttl == 300)
        let nodata = try ask("mail.example.com", .aaaa)
        #expect(nodata.rcode == 0)
        #expect(nodata.answers.isEmpty)
        #expect(nodata.authorities.first?.type == .soa)
        // An empty non-terminal exists: NODATA, not NXDOMAIN.
        let ent = try ask("sub.example.com", .txt)
        #expect(ent.rcode == 0)
        #expect(ent.answers.isEmpty)
    }

    @Test("zones we do not serve are refused")
    func refused() throws {
        let response = try ask("example.org", .a)
        #expect(response.rcode == UInt16(DNSRCode.refused.rawValue))
        #expect(!response.authoritative)
    }

    @Test("CNAMEs are chased inside the zone, not outside, and loops end")
    func cnames() throws {
        let alias = try ask("alias.example.com", .a)
        #expect(alias.answers.map(\.type) == [.cname, .a])
        let outside = try ask("outside.example.com", .a)
        #expect(outside.answers.map(\.type) == [.cname])
        let loop = try ask("loop1.example.com", .a)
        #expect(loop.rcode == UInt16(DNSRCode.servFail.rawValue))
        let direct = try ask("alias.example.com", .cname)
        #expect(direct.answers.map(\.type) == [.cname])
    }

    @Test("wildcards synthesize at the query name, but not over existing names")
    func wildcards() throws {
        let synthesized = try ask("anything.apps.example.com", .a)
        #expect(synthesized.answers.first?.name == DNSName("anything.apps.example.com"))
        if case .a(let bytes) = synthesized.answers.first?.data { #expect(bytes == [198, 51, 100, 50]) } else { Issue.record("no A") }
        let deeper = try ask("a.b.apps.example.com", .a)
        #expect(deeper.answers.count == 1)
        let noType = try ask("x.apps.example.com", .mx)
        #expect(noType.rcode == 0 && noType.answers.isEmpty)
    }

    @Test("ANY gets a minimal answer (RFC 8482)")
    func any() throws {
        let response = try ask("mail.example.com", .any)
        #expect(response.answers.map(\.type) == [.hinfo])
    }

    @Test("MX, TXT (split in 255-byte strings), SRV and CAA")
    func types() throws {
        if case .mx(let preference, let exchange) = try ask("example.com", .mx).answers.first?.data {
            #expect(preference == 10 && exchange == DNSName("mail.example.com"))
        } else {
            Issue.record("no MX")
        }
        if case .txt(let strings) = try ask("big.example.com", .txt, edns: EDNS(udpPayloadSize: 65000)).answers.first?.data {
            #expect(strings.count == 16)
            #expect(strings.allSatisfy { $0.count <= 255 })
            #expect(strings.reduce(0) { $0 + $1.count } == 4000)
        } else {
            Issue.record("no TXT")
        }
        if case .srv(let priority, let weight, let port, let target) = try ask("_sip._tcp.example.com", .srv).answers.first?.data {
            #expect([priority, weight, port] == [10, 5, 5060] && target == DNSName("sip.example.com"))
        } else {
            Issue.record("no SRV")
        }
        if case .caa(let flags, let tag, let value) = try ask("example.com", .caa).answers.first?.data {
            #expect(flags == 0 && tag == Array("issue".utf8) && value == Array("letsencrypt.org".utf8))
        } else {
            Issue.record("no CAA")
        }
    }

    @Test("delegated names get a referral, not an answer")
    func referral() throws {
        let response = try ask("host.delegated.example.com", .a)
        #expect(!response.authoritative)
        #expect(response.answers.isEmpty)
        #expect(response.authorities.first?.type == .ns)
    }

    @Test("answers larger than the client's UDP size are truncated")
    func truncation() throws {
        let query = Fixtures.query("big.example.com", .txt, edns: nil)
        let response = try #require(resolver.respond(to: query, from: nil, zones: zones))
        let udp = try DNSMessage(bytes: response.encode(maxSize: 512))
        #expect(udp.truncated)
        #expect(udp.answers.isEmpty)
        let tcp = try DNSMessage(bytes: response.encode())
        #expect(!tcp.truncated)
        #expect(tcp.answers.count == 1)
    }

    @Test("EDNS versions other than 0 get BADVERS")
    func badVersion() throws {
        var edns = EDNS(udpPayloadSize: 1232)
        edns.version = 1
        let response = try ask("example.com", .a, edns: edns)
        #expect(response.rcode == 16)
    }
}

@Suite("GeoDNS")
struct GeoDNSTests {
    let resolver = AuthoritativeResolver()

    func addresses(_ response: DNSMessage) -> [String] {
        response.answers.compactMap { record in
            switch record.data {
            case .a(let bytes), .aaaa(let bytes): IPAddress(bytes: bytes)?.description
            default: nil
            }
        }
    }

    @Test("proxied names resolve to the edge nodes nearest the client")
    func nearest() throws {
        let zones = Fixtures.zones()
        let fromGermany = try #require(resolver.respond(to: Fixtures.query("example.com", .a), from: IPAddress("78.40.0.1"), zones: zones))
        #expect(addresses(fromGermany) == ["192.0.2.10", "192.0.2.11"])
        #expect(fromGermany.answers.allSatisfy { $0.ttl == Zone.proxiedTTL })
        let fromUS = try #require(resolver.respond(to: Fixtures.query("www.example.com", .a), from: IPAddress("8.8.8.8"), zones: zones))
        #expect(addresses(fromUS).first == "192.0.2.20")
        #expect(fromUS.answers.allSatisfy { $0.type == .a }, "a proxied CNAME answers with addresses")
        let v6 = try #require(resolver.respond(to: Fixtures.query("example.com", .aaaa), from: IPAddress("78.40.0.1"), zones: zones))
        #expect(addresses(v6) == ["2001:db8::10"])
    }

    @Test("the client subnet decides, and the scope says so")
    func clientSubnet() throws {
        var edns = EDNS(udpPayloadSize: 1232)
        edns.clientSubnet = ClientSubnet(family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: [1, 0, 0, 0])
        let query = try DNSMessage(bytes: Fixtures.query("example.com", .a, edns: edns).encode())
        let response = try DNSMessage(
            bytes: try #require(resolver.respond(to: query, from: IPAddress("78.40.0.1"), zones: Fixtures.zones())).encode())
        #expect(addresses(response).first == "192.0.2.30", "Australian subnet → Sydney, though the resolver is in Germany")
        #expect(response.edns?.clientSubnet?.scopePrefixLength == 24)
        let plain = try DNSMessage(bytes: Fixtures.query("mail.example.com", .a, edns: edns).encode())
        let notGeo = try #require(resolver.respond(to: plain, from: nil, zones: Fixtures.zones()))
        #expect(notGeo.edns?.clientSubnet?.scopePrefixLength == 0, "a non-geographic answer is valid for everyone")
    }

    @Test("unhealthy nodes are left out while a healthy one exists")
    func health() throws {
        var nodes = Fixtures.nodes
        nodes[0].healthy = false
        let response = try #require(
            resolver.respond(to: Fixtures.query("example.com", .a), from: IPAddress("78.40.0.1"), zones: Fixtures.zones(nodes: nodes)))
        #expect(!addresses(response).contains("192.0.2.10"))
        let allDown = nodes.map { node -> NodeInfo in
            var node = node
            node.healthy = false
            return node
        }
        let degraded = try #require(
            resolver.respond(to: Fixtures.query("example.com", .a), from: IPAddress("78.40.0.1"), zones: Fixtures.zones(nodes: allDown)))
        #expect(!addresses(degraded).isEmpty, "with every node down, an answer beats none")
    }

    @Test("high availability answers with two regions")
    func highAvailability() throws {
        let nodes = [
            Fixtures.node("fra1", region: "eu-central", country: "DE", ipv4: "192.0.2.1"),
            Fixtures.node("fra2", region: "eu-central", country: "DE", ipv4: "192.0.2.2"),
            Fixtures.node("nyc", region: "us-east", country: "US", ipv4: "192.0.2.3"),
        ]
        let plain = Fixtures.zones([Fixtures.domain(records: Fixtures.exampleRecords)], nodes: nodes)
        let normal = try #require(resolver.respond(to: Fixtures.query("example.com", .a), from: IPAddress("78.40.0.1"), zones: plain))
        #expect(Set(addresses(normal)) == ["192.0.2.1", "192.0.2.2"])
        let ha = Fixtures.zones([Fixtures.domain(ha: true, records: Fixtures.exampleRecords)], nodes: nodes)
        let redundant = try #require(resolver.respond(to: Fixtures.query("example.com", .a), from: IPAddress("78.40.0.1"), zones: ha))
        #expect(addresses(redundant).count == 2)
        #expect(addresses(redundant).contains("192.0.2.3"), "a second region is in the answer")
    }

    @Test("DNS fallback: with no healthy edge, proxied names answer with the origin and a short TTL")
    func dnsFallback() throws {
        let allDown = Fixtures.nodes.map { node -> NodeInfo in
            var node = node
            node.healthy = false
            return node
        }
        let fallback = [Fixtures.domain(fallback: true, records: Fixtures.exampleRecords)]
        func ask(_ name: String, _ type: DNSType, _ zones: ZoneSet) throws -> DNSMessage {
            var query = Fixtures.query(name, type)
            query.edns?.clientSubnet = ClientSubnet(family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, address: [78, 40, 0, 0])
            return try DNSMessage(bytes: try #require(resolver.respond(to: query, from: IPAddress("78.40.0.1"), zones: zones)).encode())
        }
        let down = Fixtures.zones(fallback, nodes: allDown)
        let apex = try ask("example.com", .a, down)
        #expect(addresses(apex) == ["198.51.100.1"])
        #expect(apex.answers.map(\.ttl) == [Zone.fallbackTTL])
        #expect(apex.edns?.clientSubnet?.scopePrefixLength == 0, "an origin is the same for every client")
        // A proxied CNAME answers as itself, chased inside the zone to the origin.
        let www = try ask("www.example.com", .a, down)
        #expect(www.answers.map(\.type) == [.cname, .a])
        #expect(addresses(www) == ["198.51.100.1"])
        // No AAAA origin: NODATA with the SOA, not an edge address.
        let aaaa = try ask("example.com", .aaaa, down)
        #expect(aaaa.answers.isEmpty && aaaa.rcode == 0 && aaaa.authorities.first?.type == .soa)
        // Other records at the name are untouched.
        #expect(try ask("example.com", .mx, down).answers.count == 1)
        // An origin by name (a proxied CNAME at the apex) answers address queries only: MX and
        // TXT at the apex stay theirs.
        let byName = [
            Fixtures.domain(
                fallback: true,
                records: [
                    Fixtures.record("@", "CNAME", "origin.example.net", proxied: true),
                    Fixtures.record("@", "MX", "mail.example.com", priority: 10),
                    Fixtures.record("@", "TXT", "v=spf1 -all"),
                ])
        ]
        let named = Fixtures.zones(byName, nodes: allDown)
        #expect(try ask("example.com", .a, named).answers.map(\.type) == [.cname])
        #expect(try ask("example.com", .mx, named).answers.map(\.type) == [.mx])
        #expect(try ask("example.com", .txt, named).answers.map(\.type) == [.txt])

        // One healthy edge anywhere: back to the edges.
        var oneUp = allDown
        oneUp[2].healthy = true
        #expect(addresses(try ask("example.com", .a, Fixtures.zones(fallback, nodes: oneUp))) == ["192.0.2.20"])
        #expect(try ask("example.com", .a, Fixtures.zones(fallback, nodes: oneUp)).answers.map(\.ttl) == [Zone.proxiedTTL])
        // Without DNS fallback, edges are answered even when all are down (an answer beats none).
        let plain = Fixtures.zones([Fixtures.domain(records: Fixtures.exampleRecords)], nodes: allDown)
        #expect(!addresses(try ask("example.com", .a, plain)).contains("198.51.100.1"))
        #expect(addresses(try ask("example.com", .a, plain)).count == 2)
    }

    @Test("DNS fallback adds the nameservers of further regions to the NS set")
    func fallbackNameservers() throws {
        func names(_ zones: ZoneSet) throws -> Set<String> {
            let response = try #require(resolver.respond(to: Fixtures.query("example.com", .ns), from: nil, zones: zones))
            return Set(response.answers.compactMap { if case .ns(let name) = $0.data { name.key } else { nil } })
        }
        #expect(try names(Fixtures.zones()) == ["ns1.dcdn.test", "ns2.dcdn.test"])
        #expect(
            try names(Fixtures.zones([Fixtures.domain(fallback: true, records: [])])) == [
                "ns1.dcdn.test", "ns2.dcdn.test", "ns3.dcdn.test",
            ])
    }
}

@Suite("Wire format")
struct WireTests {
    @Test("messages round-trip with compression")
    func roundTrip() throws {
        var message = Fixtures.query("www.example.com", .a)
        message.isResponse = true
        message.answers = [
            DNSRecord(name: DNSName("www.example.com")!, type: .cname, ttl: 60, data: .cname(DNSName("example.com")!)),
            DNSRecord(name: DNSName("example.com")!, type: .a, ttl: 60, data: .a([192, 0, 2, 1])),
        ]
        let bytes = message.encode()
        let parsed = try DNSMessage(bytes: bytes)
        #expect(parsed.answers == message.answers)
        #expect(parsed.edns?.udpPayloadSize == 4096)
        #expect(bytes.count < 80, "names are compressed")
    }

    @Test(
        "malformed packets are errors, never crashes",
        arguments: [
            [UInt8](), [0, 1], Array(repeating: 0xFF, count: 12),
            // A compression pointer to itself.
            [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1],
            // A label longer than the packet.
            [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 97, 0, 1, 0, 1],
            // Counts far beyond the packet.
            [0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0],
        ])
    func malformed(bytes: [UInt8]) {
        #expect(throws: DNSWireError.self) { try DNSMessage(bytes: bytes) }
    }

    @Test("a corpus of random and mutated packets never crashes the parser or the resolver")
    func corpus() throws {
        var generator = SeededGenerator(seed: 0xDC_D0)
        let zones = Fixtures.zones()
        let seeds = [
            Fixtures.query("www.example.com", .a).encode(), Fixtures.query("_sip._tcp.example.com", .srv).encode(),
            try #require(AuthoritativeResolver().respond(to: Fixtures.query("alias.example.com", .a), from: nil, zones: zones)).encode(),
        ]
        var parsed = 0
        for round in 0..<20_000 {
            var packet: [UInt8]
            if round % 4 == 0 {
                packet = (0..<Int.random(in: 0...80, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                packet = seeds[round % seeds.count]
                for _ in 0..<Int.random(in: 1...6, using: &generator) where !packet.isEmpty {
                    packet[Int.random(in: 0..<packet.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if Bool.random(using: &generator) { packet.removeLast(Int.random(in: 0...min(8, packet.count), using: &generator)) }
            }
            if let message = try? DNSMessage(bytes: packet) {
                parsed += 1
                _ = AuthoritativeResolver().respond(to: message, from: nil, zones: zones)?.encode(maxSize: 512)
            }
        }
        #expect(parsed > 1000, "mutations still exercise the resolver")
    }
}

/// A deterministic generator so a corpus failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Packet cache")
struct PacketCacheTests {
    func server(_ records: [DNSRecordConfig], version: Int64 = 1) -> DNSServer {
        let store = ZoneStore(geoIP: Fixtures.geoIP)
        store.apply(Fixtures.snapshot(version: version, [Fixtures.domain(records: records)]))
        return DNSServer(store: store, host: "127.0.0.1", port: 0, transferKey: nil, logger: .init(label: "test"))
    }

    @Test("a cached answer keeps the asker's ID and letter case, and a new version clears it")
    func hits() throws {
        let dns = server([Fixtures.record("mail", "A", "198.51.100.25")])
        let first = Fixtures.query("mail.example.com", .a, id: 1).encode()
        _ = dns.answer(first, from: nil, overTCP: false)
        let second = Fixtures.query("MAIL.Example.com", .a, id: 2).encode()
        let cached = try DNSMessage(bytes: try #require(dns.answer(second, from: nil, overTCP: false)))
        #expect(cached.id == 2)
        #expect(cached.questions.first?.name.description == "MAIL.Example.com.")
        #expect(cached.answers.first?.name.description == "MAIL.Example.com.")
        // New configuration: the cached answer is not served.
        dns.store.apply(Fixtures.snapshot(version: 2, [Fixtures.domain(records: [Fixtures.record("mail", "A", "198.51.100.99")])]))
        let fresh = try DNSMessage(bytes: try #require(dns.answer(second, from: nil, overTCP: false)))
        if case .a(let bytes) = fresh.answers.first?.data { #expect(bytes == [198, 51, 100, 99]) } else { Issue.record("no A") }
    }

    @Test("GeoDNS answers are cached per client country")
    func perCountry() throws {
        let dns = server(Fixtures.exampleRecords)
        let query = Fixtures.query("example.com", .a, edns: nil).encode()
        let german = try DNSMessage(
            bytes: try #require(dns.answer(query, from: try .init(ipAddress: "78.40.0.1", port: 53), overTCP: false)))
        let american = try DNSMessage(
            bytes: try #require(dns.answer(query, from: try .init(ipAddress: "8.8.8.8", port: 53), overTCP: false)))
        #expect(german.answers.first?.data != american.answers.first?.data)
    }
}
