import DCDNCore
import Foundation
import GeoIP
import HTTPTypes
import NodeProtocol
import Testing
import WAFKit

@testable import EdgeNode

@Suite("Managed WAF")
struct ManagedWAFTests {
    struct Sample {
        let category: String
        let location: String
        let payload: String
    }

    static func load(_ name: String, categorised: Bool) throws -> [Sample] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Payloads/\(name)")
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            let fields = line.split(separator: "\t", maxSplits: categorised ? 2 : 1, omittingEmptySubsequences: false).map(String.init)
            return categorised
                ? Sample(category: fields[0], location: fields[1], payload: fields[2])
                : Sample(category: "benign", location: fields[0], payload: fields[1])
        }
    }

    /// The request a sample stands for, as the edge would see it.
    static func inspect(_ sample: Sample, with waf: ManagedWAF) -> ManagedWAF.Verdict {
        var headers: [(String, String)] = [("host", "shop.example"), ("accept", "*/*")]
        var target = "/search"
        var body: [UInt8]?
        let encoded = sample.payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? sample.payload
        let userAgent = sample.location == "ua" ? sample.payload : "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"
        headers.append(("user-agent", userAgent))
        switch sample.location {
        case "query":
            // Payloads that are already a query string or already encoded go in as they are.
            target += "?" + (sample.payload.contains("=") || sample.payload.contains("%") ? sample.payload : "q=" + encoded)
        case "path": target = sample.payload
        case "header": headers.append(("x-custom", sample.payload))
        case "cookie": headers.append(("cookie", sample.payload))
        case "body": body = Array(sample.payload.utf8)
        default: break
        }
        return waf.inspect(method: body == nil ? "GET" : "POST", target: target, headers: headers, body: body)
    }

    @Test("medium blocks at least 95 % of the attack set and at most 1 % of the benign set")
    func detectionAndFalsePositives() throws {
        let attacks = try Self.load("attacks.tsv", categorised: true)
        let benign = try Self.load("benign.tsv", categorised: false)
        #expect(attacks.count > 120 && benign.count > 130)
        var figures: [String] = []
        for sensitivity in ["low", "medium", "high"] {
            let waf = ManagedWAF(sensitivity: sensitivity)
            let missed = attacks.filter { !Self.inspect($0, with: waf).blocked }
            let flagged = benign.filter { Self.inspect($0, with: waf).blocked }
            let detection = Double(attacks.count - missed.count) / Double(attacks.count)
            let falsePositives = Double(flagged.count) / Double(benign.count)
            figures.append(
                "\(sensitivity): detection \(String(format: "%.1f", detection * 100)) % of \(attacks.count), false positives \(String(format: "%.1f", falsePositives * 100)) % of \(benign.count)"
            )
            if sensitivity == "medium" {
                #expect(detection >= 0.95, "missed: \(missed.map { "\($0.category) \($0.payload)" })")
                #expect(falsePositives <= 0.01, "flagged: \(flagged.map(\.payload))")
            }
            if sensitivity == "low" { #expect(falsePositives <= 0.01, "flagged: \(flagged.map(\.payload))") }
            if sensitivity == "medium" { figures.append("medium misses \(missed.map(\.payload)) and flags \(flagged.map(\.payload))") }
        }
        print("WAF figures — " + figures.joined(separator: "; "))
    }

    @Test("off inspects nothing")
    func off() {
        let waf = ManagedWAF(sensitivity: "off")
        #expect(!waf.isOn)
        #expect(!waf.inspect(method: "GET", target: "/?q=%3Cscript%3E", headers: []).blocked)
    }

    @Test("normalisation decodes URL and HTML encodings, comments, case and whitespace")
    func normalisation() {
        #expect(ManagedWAF.normalize("%253Cscript%253E", form: false) == "<script>")
        #expect(ManagedWAF.normalize("&lt;ScRiPt&gt;", form: false) == "<script>")
        #expect(ManagedWAF.normalize("UNION/**/SELECT", form: false) == "union select")
        #expect(ManagedWAF.normalize("a+b%20%20\tc", form: true) == "a b c")
        #expect(ManagedWAF.normalize("..\\..\\win.ini", form: false) == "../../win.ini")
        #expect(ManagedWAF.normalize("&#x6a;avascript&#58;", form: false) == "javascript:")
        #expect(ManagedWAF.normalize("%u003cscript", form: false) == "<script")
    }

    @Test("a request over the threshold lists its findings; each rule counts once")
    func findings() {
        let verdict = ManagedWAF(sensitivity: "medium").inspect(
            method: "GET", target: "/?a=%3Cscript%3E&b=%3Cscript%3E", headers: [("user-agent", "x")])
        #expect(verdict.blocked)
        #expect(verdict.findings.filter { $0.rule == 941_110 }.count == 1)
        #expect(verdict.findings.allSatisfy { $0.category == .xss })
    }

    @Test("the image endpoint may name a source by address; elsewhere that is file inclusion")
    func imageSources() {
        let waf = ManagedWAF(sensitivity: "medium")
        let headers = [("user-agent", "x")]
        #expect(!waf.inspect(method: "GET", target: "/cdn-cgi/image/?url=http://203.0.113.5/a.jpg&w=90", headers: headers).blocked)
        #expect(waf.inspect(method: "GET", target: "/page?url=http://203.0.113.5/a.jpg", headers: headers).blocked)
        #expect(waf.inspect(method: "GET", target: "/cdn-cgi/image/?url=http://x.example/%3Cscript%3E", headers: headers).blocked)
    }

    @Test("protocol anomalies: request smuggling and TRACE")
    func protocolAnomalies() {
        let waf = ManagedWAF(sensitivity: "low")
        #expect(
            waf.inspect(method: "POST", target: "/", headers: [("content-length", "4"), ("transfer-encoding", "chunked")]).blocked)
        #expect(waf.inspect(method: "TRACE", target: "/", headers: [("user-agent", "x")]).blocked)
        #expect(!waf.inspect(method: "GET", target: "/", headers: [("user-agent", "x")]).blocked)
    }
}

@Suite("Firewall")
struct FirewallTests {
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

    @Test("rate limit paths: prefix, exact and wildcard")
    func rateLimitPaths() {
        func limit(_ path: String?) -> RateLimit {
            RateLimit(RateLimitRuleConfig(id: UUID(), path: path, requests: 1, period: 1, action: "block", duration: 1))!
        }
        #expect(limit("/api/*").applies(to: "/api/users"))
        #expect(!limit("/api/*").applies(to: "/apix"))
        #expect(limit("/login").applies(to: "/login") && !limit("/login").applies(to: "/login2"))
        #expect(limit("/*/edit").applies(to: "/posts/edit") && !limit("/*/edit").applies(to: "/posts/view"))
        #expect(limit(nil).applies(to: "/anything"))
    }

    @Test("a rate limit counts per visitor and penalises for its duration")
    func rateLimits() {
        let guardian = TrafficGuard()
        let rule = RateLimit(RateLimitRuleConfig(id: UUID(), path: nil, requests: 3, period: 10, action: "block", duration: 30))!
        let visitor = ClientIP(IPAddress("198.51.100.7")!)
        let other = ClientIP(IPAddress("198.51.100.8")!)
        for second in 0..<3 { #expect(guardian.count(rule, domain: "a.example", client: visitor, now: 100 + Double(second)) == nil) }
        #expect(guardian.count(rule, domain: "a.example", client: visitor, now: 103) == .block(until: 133))
        #expect(guardian.count(rule, domain: "a.example", client: other, now: 103) == nil)
        #expect(guardian.count(rule, domain: "b.example", client: visitor, now: 103) == nil)
        #expect(guardian.count(rule, domain: "a.example", client: visitor, now: 120) == .block(until: 133))
        #expect(guardian.count(rule, domain: "a.example", client: visitor, now: 134) == nil)
    }

    @Test("a flooding visitor is challenged, then blocked if it keeps flooding")
    func flood() {
        let guardian = TrafficGuard()
        let visitor = ClientIP(IPAddress("198.51.100.7")!)
        var started = 0
        var now = 1000.0
        for _ in 0..<12 {
            let (penalty, start) = guardian.countFlood(domain: "a.example", client: visitor, threshold: 5, now: now)
            if start { started += 1 }
            if penalty == nil { #expect(started == 0) }
            now += 0.01
        }
        #expect(started == 1)
        guard case .challenge = guardian.countFlood(domain: "a.example", client: visitor, threshold: 5, now: now).0 else {
            Issue.record("expected a challenge")
            return
        }
        // Eleven more seconds of flooding without solving it.
        for second in 1...12 {
            for step in 0..<10 {
                _ = guardian.countFlood(domain: "a.example", client: visitor, threshold: 5, now: 1000 + Double(second) + Double(step) / 20)
            }
        }
        guard case .block = guardian.countFlood(domain: "a.example", client: visitor, threshold: 5, now: 1013.9).0 else {
            Issue.record("expected a block")
            return
        }
        #expect(guardian.sweep(now: 1014)["a.example"]?.first?.0 == visitor)
        #expect(guardian.countFlood(domain: "a.example", client: ClientIP(IPAddress("198.51.100.9")!), threshold: 5, now: 1014).0 == nil)
    }
}

@Suite("Under Attack challenge")
struct UnderAttackChallengeTests {
    static let protection = ProtectionConfig(
        sanctionedCountries: [], clearanceKey: Data(repeating: 7, count: 32).base64EncodedString(), challengeDifficulty: 8)

    static func visitor(_ address: String = "198.51.100.7", agent: String = "Browser/1") -> UnderAttackChallenge.Visitor {
        .init(domain: "shop.example", client: ClientIP(IPAddress(address)!), userAgent: agent)
    }

    static func solve(_ token: String) -> String {
        var nonce = 0
        while true {
            if UnderAttackChallenge.work(token + String(nonce)) >= 8 { return String(nonce) }
            nonce += 1
        }
    }

    @Test("a solved token verifies once per visitor binding; wrong nonces, other visitors and expiry do not")
    func tokens() {
        let challenge = UnderAttackChallenge(Self.protection)
        let token = challenge.token(for: Self.visitor())
        let nonce = Self.solve(token)
        #expect(challenge.verify(token: token, nonce: nonce, visitor: Self.visitor()))
        #expect(challenge.verify(token: token, nonce: nonce, visitor: Self.visitor("198.51.100.200")), "same /24")
        #expect(!challenge.verify(token: token, nonce: nonce, visitor: Self.visitor("203.0.113.7")))
        #expect(!challenge.verify(token: token, nonce: nonce, visitor: Self.visitor(agent: "Other/2")))
        #expect(!challenge.verify(token: token, nonce: nonce, visitor: Self.visitor(), now: Date().addingTimeInterval(600)))
        let wrong = (0..<50).map(String.init).first { !challenge.verify(token: token, nonce: $0, visitor: Self.visitor()) }
        #expect(wrong != nil)
        #expect(!challenge.verify(token: token.replacingOccurrences(of: ".8.", with: ".1."), nonce: "0", visitor: Self.visitor()))
    }

    @Test("clearance cookies from one node are honoured by another with the network's key")
    func clearance() {
        let issuing = UnderAttackChallenge(Self.protection)
        let other = UnderAttackChallenge(Self.protection)
        let value = issuing.clearance(for: Self.visitor(), minutes: 30)
        let headers: HTTPFields = [.cookie: "a=b; \(UnderAttackChallenge.cookieName)=\(value)"]
        #expect(other.isCleared(headers, visitor: Self.visitor()))
        #expect(!other.isCleared(headers, visitor: Self.visitor(agent: "curl/8")))
        #expect(!other.isCleared(headers, visitor: Self.visitor(), now: Date().addingTimeInterval(31 * 60)))
        let stranger = UnderAttackChallenge(nil)
        #expect(!stranger.isCleared(headers, visitor: Self.visitor()))
    }

    @Test("the return address stays on the site")
    func safeReturn() {
        #expect(UnderAttackChallenge.safeReturn("/shop?x=1") == "/shop?x=1")
        #expect(UnderAttackChallenge.safeReturn("//evil.example/") == "/")
        #expect(UnderAttackChallenge.safeReturn("https://evil.example/") == "/")
        #expect(UnderAttackChallenge.safeReturn("/\\evil.example") == "/")
        #expect(UnderAttackChallenge.safeReturn(nil) == "/")
    }
}

@Suite("Attack detection")
struct AttackDetectorTests {
    static let source = ClientIP(IPAddress("198.51.100.7")!)

    @Test("a domain far above its usual rate is an HTTP flood that ends after a quiet period")
    func domainFlood() {
        let detector = AttackDetector(thresholds: .init(clientRPS: 100, domainRPS: 50), geoIP: nil)
        // A calm minute at 2 requests a second, then 400 a second for three seconds.
        for second in 0..<60 {
            for _ in 0..<2 { detector.record(domain: "a.example", country: nil, now: 1000 + Double(second)) }
        }
        for second in 60..<63 {
            for step in 0..<400 { detector.record(domain: "a.example", country: nil, now: 1000 + Double(second) + Double(step) / 400) }
        }
        detector.tick(now: 1063.5, offenders: ["a.example": [(Self.source, 900)]])
        let (active, countries) = detector.drain()
        #expect(countries["a.example"]?["XX"] == 1320)
        let attack = active.first { $0.domain == "a.example" }
        #expect(attack?.type == "http_flood" && attack?.endedAt == nil)
        #expect(attack?.peakRps == 400 && attack?.sourceIps == ["198.51.100.7"])
        detector.tick(now: 1100, offenders: [:])
        let (ended, _) = detector.drain()
        #expect(ended.count == 1 && ended[0].endedAt != nil && ended[0].id == attack?.id)
        #expect(detector.drain().attacks.isEmpty)
    }

    @Test("a busy domain's usual rate is learnt, not taken for an attack")
    func steady() {
        let detector = AttackDetector(thresholds: .init(clientRPS: 100, domainRPS: 50), geoIP: nil)
        for second in 0..<90 {
            for step in 0..<300 { detector.record(domain: "busy.example", country: nil, now: 1000 + Double(second) + Double(step) / 300) }
        }
        detector.tick(now: 1091, offenders: [:])
        #expect(detector.drain().attacks.isEmpty)
    }

    @Test("ten slow connections cut off within a minute are a Slowloris attack")
    func slowloris() {
        let detector = AttackDetector(thresholds: .init(clientRPS: 100, domainRPS: 50), geoIP: nil)
        for index in 0..<9 { detector.slowClient(Self.source, domain: "a.example", now: 1000 + Double(index)) }
        #expect(detector.drain().attacks.isEmpty)
        detector.slowClient(Self.source, domain: "a.example", now: 1010)
        let attack = detector.drain().attacks.first
        #expect(attack?.type == "slowloris" && attack?.mitigation == "connection_limits" && attack?.requests == 10)
    }
}
