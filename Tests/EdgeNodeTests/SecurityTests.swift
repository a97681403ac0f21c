import DCDNCore
import Foundation
import GeoIP
import HTTPTypes
import NodeProtocol
import Testing
import WAFKit

@testable import EdgeNode

@Suite("Firewall")
struct FirewallTests {
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

    @Test("the per-visitor flood bound adapts to the domain's usual rate; a quiet domain keeps the configured one")
    func adaptiveBound() {
        let detector = AttackDetector(thresholds: .init(clientRPS: 100, domainRPS: 50), geoIP: nil)
        for second in 0..<90 {
            for step in 0..<600 { detector.record(domain: "busy.example", country: nil, now: 1000 + Double(second) + Double(step) / 600) }
            for step in 0..<20 { detector.record(domain: "quiet.example", country: nil, now: 1000 + Double(second) + Double(step) / 20) }
            detector.tick(now: 1001 + Double(second), offenders: [:])
        }
        let busy = detector.record(domain: "busy.example", country: nil, now: 1091)
        #expect(!busy.flooded)
        #expect((500...600).contains(busy.clientLimit ?? 0), "one visitor may send what the whole domain usually gets: \(busy)")
        #expect(detector.record(domain: "quiet.example", country: nil, now: 1091).clientLimit == nil, "the configured 100 stands")
    }

    @Test("browsers asking for a page are challenged; API clients and a page's own fetches get 429")
    func browserOrAPI() {
        func head(_ fields: HTTPFields) -> HTTPRequest {
            var head = HTTPRequest(method: .get, scheme: "https", authority: "shop.example", path: "/")
            head.headerFields = fields
            return head
        }
        #expect(EdgeSecurity.isBrowserNavigation(head([.accept: "text/html,application/xhtml+xml,*/*;q=0.8"])))
        #expect(EdgeSecurity.isBrowserNavigation(head([.accept: "TEXT/HTML"])))
        #expect(!EdgeSecurity.isBrowserNavigation(head([:])), "curl and scripts send no Accept or */*")
        #expect(!EdgeSecurity.isBrowserNavigation(head([.accept: "*/*"])))
        #expect(!EdgeSecurity.isBrowserNavigation(head([.accept: "application/json"])))
        #expect(!EdgeSecurity.isBrowserNavigation(head([.accept: "image/avif,image/webp,*/*"])))
        #expect(!EdgeSecurity.isBrowserNavigation(head([.accept: "text/html", .authorization: "Bearer x"])), "an API client with a token")
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
