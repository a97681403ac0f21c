import DCDNCore
import Foundation
import GeoIP
import HTTPTypes
import NodeProtocol
import Testing

@testable import WAFKit

@Suite("Firewall rules and address ranges")
struct FirewallRuleTests {
    static func facts(_ target: String = "/", client: String = "198.51.100.7", country: String? = "DE", headers: HTTPFields = [:])
        -> RequestFacts
    {
        var head = HTTPRequest(method: .get, scheme: "http", authority: "shop.example", path: target)
        head.headerFields = headers
        return RequestFacts(
            head: head, client: ClientIP(IPAddress(client)!), packedCountry: country.flatMap(GeoIPDatabase.packed), host: "shop.example",
            target: target)
    }

    static func rule(_ field: String, _ op: String, _ value: String, _ action: String = "block") -> FirewallRule {
        FirewallRule(FirewallRuleConfig(id: UUID(), field: field, operator: op, value: value, action: action))!
    }

    @Test("path rules, uri rules and rate-limit paths match the normalised path, whatever the spelling")
    func normalisedPaths() {
        let startsWith = Self.rule("path", "starts_with", "/admin")
        let equals = Self.rule("path", "equals", "/admin/panel")
        let matches = Self.rule("path", "matches", "^/admin/")
        let uri = Self.rule("uri", "starts_with", "/admin/panel?")
        let limit = RateLimit(RateLimitRuleConfig(id: UUID(), path: "/admin/*", requests: 5, period: 60, action: "block", duration: 60))!
        let exact = RateLimit(RateLimitRuleConfig(id: UUID(), path: "/login", requests: 5, period: 60, action: "block", duration: 60))!
        for spelling in [
            "/admin/panel", "//admin/panel", "/./admin/panel", "/%61dmin/panel", "/%2e/admin/panel", "/x/../admin/panel",
            "/admin//panel", "/admin%2Fpanel", "/static/%2e%2e/admin/panel",
        ] {
            let facts = Self.facts(spelling + "?id=1")
            #expect(startsWith.matches(facts), "\(spelling)")
            #expect(equals.matches(facts), "\(spelling)")
            #expect(matches.matches(facts), "\(spelling)")
            #expect(uri.matches(facts), "\(spelling)")
            #expect(limit.applies(to: facts.path[...]), "\(spelling)")
        }
        // Rules compare ignoring case, as before; rate-limit paths are paths (case counts).
        #expect(startsWith.matches(Self.facts("/%41dmin/panel")) && equals.matches(Self.facts("/ADMIN/panel")))
        for spelling in ["/login", "//login", "/./login", "/%6cogin", "/a/../login"] {
            #expect(exact.applies(to: Self.facts(spelling).path[...]), "\(spelling)")
        }
        // Not the same resource to the origin: left alone.
        for other in ["/%2561dmin/panel", "/administrator", "/public/admin"] {
            #expect(!equals.matches(Self.facts(other)), "\(other)")
        }
        #expect(!startsWith.matches(Self.facts("/%2561dmin/panel")), "decoded once, as the origin decodes it")
    }

    @Test("address ranges hold IPv4, IPv6 and IPv4-mapped visitors")
    func ranges() {
        let set = IPRangeSet(["198.51.100.0/24", "2001:db8::/32", "203.0.113.9"])
        #expect(set.contains(ClientIP(IPAddress("198.51.100.200")!)))
        #expect(set.contains(ClientIP(IPAddress("::ffff:198.51.100.1")!)))
        #expect(set.contains(ClientIP(IPAddress("2001:db8:1::5")!)))
        #expect(set.contains(ClientIP(IPAddress("203.0.113.9")!)))
        #expect(!set.contains(ClientIP(IPAddress("203.0.113.10")!)))
        #expect(!set.contains(ClientIP(IPAddress("2001:db9::1")!)))
        #expect(IPRangeSet(["0.0.0.0/0"]).contains(ClientIP(IPAddress("8.8.8.8")!)))
        #expect(!IPRangeSet(["0.0.0.0/0"]).contains(ClientIP(IPAddress("::1")!)))
        #expect(ClientIP(IPAddress("203.0.113.9")!).clearancePrefix == ClientIP(IPAddress("203.0.113.200")!).clearancePrefix)
        // Overlapping, nested and adjacent entries merge; bisection finds every edge.
        let merged = IPRangeSet(["10.1.0.0/16", "10.0.0.0/8", "11.0.0.0/8", "13.0.0.0/8"])
        for inside in ["10.0.0.0", "10.200.0.1", "11.255.255.255", "13.0.0.1"] { #expect(merged.contains(ClientIP(IPAddress(inside)!))) }
        for outside in ["9.255.255.255", "12.0.0.0", "14.0.0.0", "0.0.0.1"] { #expect(!merged.contains(ClientIP(IPAddress(outside)!))) }
        let long = IPRangeSet((0..<200).map { "198.51.0.\($0)" })
        #expect(long.contains(ClientIP(IPAddress("198.51.0.199")!)) && long.contains(ClientIP(IPAddress("198.51.0.0")!)))
        #expect(!long.contains(ClientIP(IPAddress("198.51.0.200")!)))
        #expect(IPRangeSet(["::/0"]).contains(ClientIP(IPAddress("2001:db8::1")!)))
    }

    @Test("rules test each field with each operator")
    func rules() {
        #expect(Self.rule("ip", "in", "198.51.100.0/24, 10.0.0.0/8").matches(Self.facts()))
        #expect(!Self.rule("ip", "not_in", "198.51.100.0/24").matches(Self.facts()))
        #expect(Self.rule("country", "in", "de,fr").matches(Self.facts()))
        #expect(Self.rule("path", "starts_with", "/admin").matches(Self.facts("/Admin/users")))
        #expect(Self.rule("query", "contains", "debug=1").matches(Self.facts("/x?debug=1")))
        #expect(Self.rule("uri", "ends_with", ".php").matches(Self.facts("/index.php")))
        #expect(Self.rule("path", "matches", "^/api/v[0-9]+/").matches(Self.facts("/api/v2/users")))
        #expect(!Self.rule("path", "matches", "^/api/v[0-9]+/").matches(Self.facts("/apix")))
        #expect(Self.rule("user_agent", "contains", "badbot").matches(Self.facts(headers: [.userAgent: "BadBot/1.0"])))
        #expect(!Self.rule("user_agent", "contains", "badbot").matches(Self.facts()))
        #expect(Self.rule("header:x-api-key", "not_equals", "s3cret").matches(Self.facts(headers: [.init("X-Api-Key")!: "wrong"])))
        #expect(Self.rule("cookie:role", "equals", "admin").matches(Self.facts(headers: [.cookie: "a=1; role=admin"])))
        #expect(Self.rule("method", "equals", "get").matches(Self.facts()))
        #expect(FirewallRule(FirewallRuleConfig(id: UUID(), field: "nope", operator: "equals", value: "x", action: "block")) == nil)
    }
}
