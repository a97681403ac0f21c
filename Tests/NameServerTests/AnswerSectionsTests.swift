import DCDNCore
import DNSKit
import Foundation
import Logging
import Testing

@testable import NameServer

/// The sections, RCODE and flags of authoritative answers as the RFCs fix them (and as BIND,
/// Knot, NSD and PowerDNS answer; e2e compares with NSD itself).
@Suite("Authoritative answers: RCODE, sections and flags")
struct AnswerSectionsTests {
    static let records = [
        Fixtures.record("mail", "A", "198.51.100.25"),
        Fixtures.record("dangling", "CNAME", "missing.example.com"),
        Fixtures.record("chain1", "CNAME", "chain2.example.com"),
        Fixtures.record("chain2", "CNAME", "missing.example.com"),
        Fixtures.record("alias", "CNAME", "mail.example.com"),
        Fixtures.record("wild", "CNAME", "x.apps.example.com"),
        Fixtures.record("*.apps", "A", "198.51.100.50"),
        Fixtures.record("sub", "NS", "ns1.sub.example.com"),
        Fixtures.record("sub", "NS", "ns.example.com"),
        Fixtures.record("sub", "NS", "ns.other.example"),
        Fixtures.record("ns1.sub", "A", "198.51.100.53"),
        Fixtures.record("ns1.sub", "AAAA", "2001:db8::53"),
        Fixtures.record("ns", "A", "198.51.100.54"),
        Fixtures.record("into-sub", "CNAME", "www.sub.example.com"),
    ]
    let zones = Fixtures.zones([Fixtures.domain(records: Self.records)])

    func ask(_ name: String, _ type: DNSType) throws -> DNSMessage {
        let parsed = try DNSMessage(bytes: Fixtures.query(name, type).encode())
        let response = try #require(AuthoritativeResolver().respond(to: parsed, from: IPAddress("203.0.113.1"), zones: zones))
        return try DNSMessage(bytes: response.encode())
    }

    @Test("a CNAME chain ending at a name that does not exist answers NXDOMAIN with the chain and the SOA (RFC 6604 §3)")
    func danglingChains() throws {
        let dangling = try ask("dangling.example.com", .a)
        #expect(dangling.rcode == UInt16(DNSRCode.nxDomain.rawValue))
        #expect(dangling.answers.map(\.type) == [.cname] && dangling.authoritative)
        #expect(dangling.authorities.map(\.type) == [.soa])
        let chain = try ask("chain1.example.com", .aaaa)
        #expect(chain.rcode == UInt16(DNSRCode.nxDomain.rawValue))
        #expect(chain.answers.map(\.name.description) == ["chain1.example.com.", "chain2.example.com."])
        // The last step decides: an existing name without the type is NODATA (NOERROR, SOA).
        let nodata = try ask("alias.example.com", .aaaa)
        #expect(nodata.rcode == 0 && nodata.answers.map(\.type) == [.cname] && nodata.authorities.map(\.type) == [.soa])
        let synthesized = try ask("wild.example.com", .a)
        #expect(synthesized.rcode == 0 && synthesized.answers.map(\.type) == [.cname, .a])
        // Asking for the CNAME itself is an answer, whatever its target.
        let own = try ask("dangling.example.com", .cname)
        #expect(own.rcode == 0 && own.answers.map(\.type) == [.cname])
    }

    @Test("a referral carries the cut's NS set and every in-domain glue address, and is not authoritative (RFC 9471)")
    func referralGlue() throws {
        for name in ["sub.example.com", "www.sub.example.com", "a.b.sub.example.com"] {
            let referral = try ask(name, .a)
            #expect(referral.rcode == 0 && !referral.authoritative && referral.answers.isEmpty, "\(name)")
            #expect(Set(referral.authorities.map(\.type)) == [.ns] && referral.authorities.count == 3)
            let glue = Set(referral.additionals.filter { $0.type != .opt }.map { "\($0.name) \($0.type)" })
            #expect(glue == ["ns1.sub.example.com. A", "ns1.sub.example.com. AAAA", "ns.example.com. A"], "\(name)")
        }
        // A chain that leads below the cut: the CNAME, then the referral.
        let chained = try ask("into-sub.example.com", .a)
        #expect(chained.answers.map(\.type) == [.cname] && chained.authorities.map(\.type) == [.ns, .ns, .ns])
    }

    @Test("DS at a delegation point is the parent's to answer: authoritative NODATA, not a referral (RFC 4035 §3.1.4.1)")
    func dsAtTheCut() throws {
        let ds = try ask("sub.example.com", .ds)
        #expect(ds.rcode == 0 && ds.authoritative && ds.answers.isEmpty && ds.authorities.map(\.type) == [.soa])
        let below = try ask("www.sub.example.com", .ds)
        #expect(!below.authoritative && below.authorities.first?.type == .ns, "below the cut it is the child's")
    }

    @Test(
        "zone transfers: unsigned is REFUSED; a bad key or signature is NOTAUTH with an unsigned BADKEY/BADSIG TSIG; a stale time is a signed BADTIME (RFC 8945 §5.2)"
    )
    func tsigErrors() throws {
        let key = try #require(TSIGKey("transfer.:" + Data(repeating: 7, count: 32).base64EncodedString()))
        let store = ZoneStore(geoIP: Fixtures.geoIP)
        store.apply(Fixtures.snapshot(version: 1, [Fixtures.domain(records: Self.records)]))
        let server = DNSServer(store: store, host: "127.0.0.1", port: 0, transferKey: key, logger: .init(label: "test"))
        func transfer(signedWith signer: TSIGKey?, at time: Date = Date()) throws -> DNSMessage {
            var query = Fixtures.query("example.com", .axfr, edns: nil, id: 0x4242)
            query.recursionDesired = false
            var bytes = query.encode()
            if let signer { bytes = signer.sign(bytes, id: 0x4242, priorMAC: nil, now: time).0 }
            let parsed = try DNSMessage(bytes: bytes)
            let messages = server.transfer(bytes, query: parsed, from: nil)
            #expect(messages.count == 1)
            return try DNSMessage(bytes: messages[0])
        }
        let unsigned = try transfer(signedWith: nil)
        #expect(unsigned.rcode == UInt16(DNSRCode.refused.rawValue) && unsigned.tsig == nil)

        let otherName = try #require(TSIGKey("someone-else.:" + Data(repeating: 7, count: 32).base64EncodedString()))
        let badKey = try transfer(signedWith: otherName)
        #expect(badKey.rcode == UInt16(DNSRCode.notAuth.rawValue))
        #expect(badKey.tsig?.error == TSIGKey.badKey && badKey.tsig?.mac.isEmpty == true && badKey.tsig?.keyName == otherName.name)

        let otherSecret = try #require(TSIGKey("transfer.:" + Data(repeating: 9, count: 32).base64EncodedString()))
        let badSig = try transfer(signedWith: otherSecret)
        #expect(badSig.rcode == UInt16(DNSRCode.notAuth.rawValue))
        #expect(badSig.tsig?.error == TSIGKey.badSig && badSig.tsig?.mac.isEmpty == true)

        let anHourAgo = Date().addingTimeInterval(-3600)
        let badTime = try transfer(signedWith: key, at: anHourAgo)
        #expect(badTime.rcode == UInt16(DNSRCode.notAuth.rawValue))
        let record = try #require(badTime.tsig)
        #expect(record.error == TSIGKey.badTime && record.mac.count == 32, "signed")
        #expect(record.timeSigned == UInt64(anHourAgo.timeIntervalSince1970), "the request's time")
        let serverTime = record.otherData.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(record.otherData.count == 6 && abs(Int(serverTime) - Int(Date().timeIntervalSince1970)) < 60, "the server's time")

        let good = try transfer(signedWith: key)
        #expect(good.rcode == 0 && good.answers.first?.type == .soa && good.tsig?.error == 0)
    }
}
