import DCDNCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NodeProtocol
import Testing

@testable import Coordinator

@Suite("Domain security and DDoS reports")
struct SecurityTests {
    static func attacks(_ client: any TestClientProtocol, _ jwt: String, _ query: String = "") async throws
        -> SecurityController.AttackList
    {
        try await client.json(.get, "/api/v1/ddos/attacks" + query, token: jwt).decode()
    }

    @Test("firewall settings validate, travel to nodes with the network's protection, and belong to their tenant")
    func settings() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let node = try await NodeAPITests().makeNode(client, admin: admin)
            let (jwt, _) = try await client.signUp(app, email: "guard@example.com")
            let id = try await CDNTests().domain(client, jwt, "guard.example")
            let base = "/api/v1/cdn/domains/\(id)/security"
            let defaults = try await client.json(.get, base, token: jwt).decode(SecurityController.SettingsResponse.self)
            #expect(defaults.domain == "guard.example" && defaults.wafSensitivity == "medium" && defaults.clearanceMinutes == 30)
            #expect(defaults.sanctionedCountries.count == 23)

            let patched = try await client.json(
                .patch, base,
                [
                    "ip_block": ["198.51.100.0/24", "2001:db8::1/128"], "country_block": ["de"], "waf_sensitivity": "high",
                    "under_attack": true,
                ],
                token: jwt
            ).decode(SecurityController.SettingsResponse.self)
            #expect(patched.ipBlock == ["198.51.100.0/24", "2001:db8::1"])
            #expect(patched.countryBlock == ["DE"] && patched.underAttack == true && patched.wafSensitivity == "high")
            for (body, field) in [
                (["ip_allow": ["10.0.0.0/33"]], "ip_allow"), (["country_allow": ["DEU"]], "country_allow"),
                (["waf_sensitivity": "max"], "waf_sensitivity"), (["clearance_minutes": 99999], "clearance_minutes"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.patch, base, body, token: jwt)
                #expect(rejected.status == .unprocessableContent && rejected.error?.field == field, "\(rejected.text)")
            }
            let rule = try await client.json(
                .post, base + "/firewall-rules",
                ["field": "ip", "operator": "in", "value": "203.0.113.0/24, 2001:db8::/32", "action": "block"],
                token: jwt)
            #expect(rule.status == .created)
            for (body, field) in [
                (["field": "nope", "operator": "equals", "value": "x"], "field"),
                (["field": "path", "operator": "like", "value": "x"], "operator"),
                (["field": "ip", "operator": "in", "value": "not-an-ip"], "value"),
                (["field": "path", "operator": "equals", "value": "/", "action": "explode"], "action"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.post, base + "/firewall-rules", body, token: jwt)
                #expect(rejected.status == .unprocessableContent && rejected.error?.field == field, "\(rejected.text)")
            }
            let limit = try await client.json(.post, base + "/rate-limits", ["path": "/api/*", "requests": 10, "period": 60], token: jwt)
            #expect(limit.status == .created, "\(limit.text)")
            let limitRule = try limit.decode(RateLimitRuleConfig.self)
            #expect(limitRule.path == "/api/*" && limitRule.action == "block" && limitRule.duration == 60)

            let config = try #require(try await client.nodeConfig(token: node.token).edge)
            let domain = try #require(config.domains.first)
            let security = try #require(domain.security)
            #expect(security.wafSensitivity == "high" && domain.underAttack)
            #expect(security.firewallRules.first?.value == "203.0.113.0/24, 2001:db8::/32")
            #expect(security.rateLimits.first?.path == "/api/*")
            let protection = try #require(config.protection)
            #expect(protection.sanctionedCountries.contains("KP"))
            #expect(Data(base64Encoded: protection.clearanceKey)?.count == 32)

            let (other, _) = try await client.signUp(app, email: "intruder@example.com")
            #expect(try await client.json(.get, base, token: other).status == .notFound)
            #expect(
                try await client.json(.post, "/api/v1/ddos/under-attack", ["domain_name": "guard.example", "enabled": false], token: other)
                    .status == .notFound)
            let off = try await client.json(.post, "/api/v1/ddos/under-attack", ["domain_id": id.uuidString, "enabled": false], token: jwt)
                .decode(SecurityController.UnderAttackResponse.self)
            #expect(off.domainId == id && off.underAttack == false)
            #expect(
                try await client.json(.post, "/api/v1/ddos/under-attack", ["domain_name": "guard.example"], token: jwt).error?.field
                    == "enabled")
        }
    }

    @Test("node reports become attacks, merged across nodes, and the DDoS overview sums them for the owner only")
    func reports() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let first = try await NodeAPITests().makeNode(client, admin: admin)
            let second = try await NodeAPITests().makeNode(client, admin: admin, name: "edge-2")
            let (jwt, _) = try await client.signUp(app, email: "attacked@example.com")
            let id = try await CDNTests().domain(client, jwt, "attacked.example")
            let started = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-30))
            func report(_ attackID: String, peak: Int, sources: [String], ended: Bool) -> [String: Any] {
                var attack: [String: Any] = [
                    "id": attackID, "domain": "attacked.example", "type": "http_flood", "severity": peak > 500 ? "high" : "medium",
                    "peak_rps": peak, "requests": peak * 10, "source_ips": sources, "source_countries": ["XX"],
                    "mitigation": "js_challenge",
                    "started_at": started,
                ]
                if ended { attack["ended_at"] = ISO8601DateFormatter().string(from: Date()) }
                return [
                    "window_seconds": 5,
                    "domains": [
                        [
                            "domain": "attacked.example", "requests": 1000, "bytes": 5000, "cache_hits": 100, "status2xx": 100,
                            "status3xx": 0,
                            "status4xx": 900, "status5xx": 0, "blocked": 300, "challenged": 600, "countries": ["DE": 700, "XX": 300],
                            "mitigations": ["js_challenge": 600, "waf_rules": 300],
                        ]
                    ],
                    "attacks": [attack],
                ]
            }
            let one = UUID().uuidString
            let two = UUID().uuidString
            for (node, attackID, peak, sources) in [
                (first, one, 400, ["198.51.100.1"]), (second, two, 900, ["198.51.100.2"]), (first, one, 450, ["198.51.100.1"]),
            ] {
                let answer = try await client.json(
                    .post, "/api/v1/node-api/report", report(attackID, peak: peak, sources: sources, ended: false), token: node.token)
                #expect(answer.status == .noContent, "\(answer.text)")
            }
            let attacks = try await client.json(.get, "/api/v1/ddos/attacks", token: jwt).decode(SecurityController.AttackList.self)
            #expect(attacks.total == 1, "\(attacks)")
            let attack = try #require(attacks.attacks.first)
            #expect(attack.peakRps == 900 && attack.severity == "high" && attack.status == "active" && attack.endedAt == nil)
            #expect(Set(attack.sourceIps) == ["198.51.100.1", "198.51.100.2"])
            #expect(Set(attack.nodes).count == 2)
            #expect(try await Self.attacks(client, jwt, "?status=mitigated").total == 0)

            let overview = try await client.json(.get, "/api/v1/ddos/overview?domain_id=\(id)", token: jwt).decode(
                SecurityService.Overview.self)
            #expect(overview.requests == 3000 && overview.blocked == 900 && overview.challenged == 1800)
            #expect(overview.traffic.count == 24)
            #expect(overview.attackTypes["http_flood"] == 1)
            #expect(overview.mitigationMethods["js_challenge"] == 1800)
            #expect(overview.topCountries.first?.country == "DE")
            #expect(overview.threatScore > 50)
            let live = try await client.json(.get, "/api/v1/ddos/live", token: jwt).decode(SecurityService.Live.self)
            #expect(live.activeAttacks == 1 && live.requestsPerSecond > 0)

            _ = try await client.json(
                .post, "/api/v1/node-api/report", report(one, peak: 450, sources: [], ended: true), token: first.token)
            let ended = try await Self.attacks(client, jwt, "?status=mitigated")
            #expect(ended.total == 1 && ended.attacks.first?.status == "mitigated" && ended.attacks.first?.endedAt != nil)

            let (other, _) = try await client.signUp(app, email: "bystander@example.com")
            #expect(try await Self.attacks(client, other).total == 0)
            #expect(
                try await client.json(.get, "/api/v1/ddos/overview", token: other).decode(SecurityService.Overview.self).requests == 0)
            #expect(try await client.json(.get, "/api/v1/ddos/overview?domain_id=\(id)", token: other).status == .notFound)
        }
    }
}
