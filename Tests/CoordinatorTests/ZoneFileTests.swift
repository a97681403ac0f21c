import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PropertyBased
import Testing

@testable import Coordinator
@testable import DCDNCore

@Suite("BIND zone files: TTL syntax, escapes, line endings, lossless round trips")
struct ZoneFileTests {
    static func entries(_ text: String) -> ([ZoneFile.Entry], [ZoneFile.ImportResult.Problem]) {
        ZoneFile.parse(text, origin: "zone.example")
    }

    @Test("BIND's TTL syntax (s, m, h, d, w, combined, any case) everywhere a TTL is")
    func ttlUnits() {
        for (text, seconds) in [
            ("300", 300), ("1h", 3600), ("2h", 7200), ("1d", 86_400), ("1h30m", 5400), ("1W", 604_800), ("90S", 90), ("1d2h3m4s", 93_784),
            ("1h30", 3630), ("0", 0),
        ] {
            #expect(ZoneFile.ttlSeconds(text) == seconds, "\(text)")
        }
        for invalid in ["", "h", "1x", "1hh", "1.5h", "-1", "9999999999", "1y", "one"] {
            #expect(ZoneFile.ttlSeconds(invalid) == nil, "\(invalid)")
        }
        let (entries, problems) = Self.entries(
            """
            $TTL 1h
            a IN A 203.0.113.1
            b 2h IN A 203.0.113.2
            c IN 1d A 203.0.113.3
            d 1h30m A 203.0.113.4
            e 1x IN A 203.0.113.5
            """)
        #expect(entries.map(\.ttl) == [3600, 7200, 86_400, 5400])
        #expect(problems.map(\.line) == [6] && problems.first?.detail.contains("1x is not a TTL") == true)
        let (_, badDefault) = Self.entries("$TTL forever\na IN A 203.0.113.1")
        #expect(badDefault.map(\.line) == [1], "a $TTL that is not a TTL is reported, not dropped")
    }

    @Test("\\DDD and \\X escapes in character-strings are decoded (RFC 1035 §5.1)")
    func escapes() {
        let (entries, problems) = Self.entries(
            #"""
            dmarc IN TXT "v=DMARC1\059 p=none"
            wrapped IN TXT "\"wrapped\""
            slash IN TXT "a\\b" "\065\066C"
            bare IN TXT semi\;colon
            caa IN CAA 0 issue "letsencrypt.org"
            """#)
        #expect(problems.isEmpty)
        let texts = entries.map { DNSRecordContent.unquoted($0.content) }
        #expect(texts[0] == "v=DMARC1; p=none")
        #expect(texts[1] == "\"wrapped\"", "the quotes are data")
        #expect(texts[2] == "a\\bABC")
        #expect(texts[3] == "semi;colon")
        #expect(entries[4].content == "0 issue \"letsencrypt.org\"")
        // A combining mark right after the opening quote is still text inside the quotes.
        let (marked, _) = Self.entries("m IN TXT " + ZoneFile.quoted("\u{A9B3}x\u{301}"))
        #expect(DNSRecordContent.unquoted(marked[0].content) == "\u{A9B3}x\u{301}")
        let (_, notText) = Self.entries(#"bin IN TXT "\200\201""#)
        #expect(notText.first?.detail.contains("UTF-8") == true, "bytes that are not text are refused, not mangled")
        // Export writes what import reads back.
        #expect(ZoneFile.quoted("v=DMARC1; p=none") == #""v=DMARC1; p=none""#)
        #expect(ZoneFile.quoted("say \"hi\"\\\n") == #""say \"hi\"\\\010""#)
        #expect(ZoneFile.quoted("café") == #""caf\195\169""#)
    }

    @Test("line numbers count CRLF and CR line endings once")
    func lineEndings() {
        let lines = (1...9).map { "ok\($0) IN A 203.0.113.\($0)" } + ["bad IN A 999.0.0.1", "after IN A 203.0.113.11"]
        for separator in ["\r\n", "\n", "\r"] {
            let (entries, _) = Self.entries(lines.joined(separator: separator))
            #expect(entries.count == 11)
            #expect(entries.first { $0.name == "bad" }?.line == 10, "\(separator.debugDescription)")
            #expect(entries.first { $0.name == "after" }?.line == 11)
        }
        let (entries, problems) = Self.entries("a IN A 203.0.113.1\r\n\r\nb IN A\r\nc IN TXT \"x\"\r\n")
        #expect(entries.map(\.line) == [1, 3, 4] && problems.isEmpty)
    }

    /// Any text, exported as a TXT record and read back, is the same text: every ASCII byte
    /// value (controls, quotes, backslashes), any Unicode, longer than one 255-byte string.
    @Test("TXT text survives export and import, whatever its bytes")
    func txtRoundTrip() async {
        let ascii = Gen.int(in: 0...127).array(of: 0...700).map { String(decoding: $0.map(UInt8.init), as: UTF8.self) }
        let unicode = Gen.int(in: 0...0x10FFFF).array(of: 0...300).map { codes in
            String(String.UnicodeScalarView(codes.compactMap { Unicode.Scalar(UInt32($0)) }))
        }
        for generator in [ascii, unicode] {
            await propertyCheck(count: 300, input: generator) { text in
                let (entries, problems) = Self.entries("t IN TXT " + ZoneFile.quoted(text))
                #expect(problems.isEmpty)
                #expect(entries.count == 1 && DNSRecordContent.unquoted(entries[0].content) == text)
            }
        }
    }

    @Test("every record type: import, export and import again give the same records")
    func apiRoundTrip() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "roundtrip@example.com")
            let id = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "round.example", "origin_ip": "203.0.113.7"], token: jwt
            ).decode(DomainsController.DomainResponse.self).id
            let zone = #"""
                $ORIGIN round.example.
                $TTL 1h
                www      IN CNAME @
                mail  2h IN A     203.0.113.25
                mail     IN AAAA  2001:db8::25
                @        IN MX    10 mail
                @        IN TXT   "v=spf1 mx -all"
                _dmarc   IN TXT   "v=DMARC1\059 p=none; rua=mailto:d@round.example"
                quoted   IN TXT   "\"wrapped\" and \\ backslash"
                long     IN TXT   "\#(String(repeating: "é", count: 200))" "\#(String(repeating: "x", count: 200))"
                _sip._tcp IN SRV  10 5 5060 sip.round.example.
                @        IN CAA   0 issue "letsencrypt.org"
                sub      IN NS    ns1.other.example.
                """#
            /// The records as comparable rows (IDs and times differ between imports).
            struct Row: Hashable {
                var name: String
                var type: String
                var content: String
                var ttl: Int
                var priority: Int?
                var proxied: Bool
            }
            func records() async throws -> Set<Row> {
                let list = try await client.json(.get, "/api/v1/cdn/domains/\(id)/records", token: jwt).decode(
                    DomainsController.RecordList.self)
                return Set(
                    list.records.map {
                        Row(name: $0.name, type: $0.type, content: $0.content, ttl: $0.ttl, priority: $0.priority, proxied: $0.proxied)
                    })
            }
            let first = try await client.json(.post, "/api/v1/cdn/domains/\(id)/zone", ["zone": zone, "replace": true], token: jwt)
            let firstResult = try first.decode(ZoneFile.ImportResult.self)
            #expect(firstResult.errors.isEmpty && firstResult.imported == 11, "\(first.text)")
            let imported = try await records()
            let exported = try await client.execute(
                uri: "/api/v1/cdn/domains/\(id)/zone", method: .get, headers: [.authorization: "Bearer \(jwt)"]
            ) { String(buffer: $0.body) }
            #expect(!exported.contains("$TTL"), "records on automatic TTL stay so")
            let again = try await client.json(.post, "/api/v1/cdn/domains/\(id)/zone", ["zone": exported, "replace": true], token: jwt)
            #expect(try again.decode(ZoneFile.ImportResult.self).errors.isEmpty, "\(again.text)")
            #expect(try await records() == imported)
            let byName = Dictionary(grouping: imported, by: \.name)
            #expect(byName["_dmarc"]?.first?.content == "v=DMARC1; p=none; rua=mailto:d@round.example")
            #expect(byName["quoted"]?.first?.content == "\"wrapped\" and \\ backslash")
            #expect(byName["long"]?.first?.content == String(repeating: "é", count: 200) + String(repeating: "x", count: 200))
            #expect(byName["mail"]?.first { $0.type == "A" }?.ttl == 7200)
            #expect(byName["www"]?.first?.ttl == 3600)
        }
    }
}

@Suite("Zone file parser against random input")
struct ZoneFileFuzzTests {
    /// Random lines built from the tokens zone files are made of, and random bytes: the parser
    /// answers with entries and problems, never a crash, and every problem names a line that exists.
    @Test("random zone text never crashes the parser and problems name real lines")
    func fuzz() async {
        let pieces = [
            "$ORIGIN", "$TTL", "$INCLUDE", "@", "www", "IN", "CH", "A", "AAAA", "TXT", "MX", "CNAME", "SRV", "CAA", "NS", "1h", "1x", "300",
            "(", ")", "\"", "\\", "\\0", "\\999", "\\\"", ";", "; proxied", "\t", " ", "\r\n", "\n", "\r", "203.0.113.1", "é", "\u{FEFF}",
            "example.", "zone.example.",
        ]
        let text = Gen.int(in: 0..<pieces.count).array(of: 0...80).map { $0.map { pieces[$0] }.joined(separator: " ") }
        await propertyCheck(count: 500, input: text) { text in
            let (entries, problems) = ZoneFile.parse(text, origin: "zone.example")
            let lines = ZoneFile.lines(text).count
            #expect(problems.allSatisfy { (1...max(lines, 1)).contains($0.line) })
            #expect(entries.allSatisfy { (1...max(lines, 1)).contains($0.line) })
        }
        let bytes = Gen.int(in: 0...255).array(of: 0...400).map { String(decoding: $0.map(UInt8.init), as: UTF8.self) }
        await propertyCheck(count: 300, input: bytes) { text in
            _ = ZoneFile.parse(text, origin: "zone.example")
        }
    }
}
