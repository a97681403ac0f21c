import DCDNCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NodeProtocol
import Testing

@testable import Coordinator

@Suite("Domain security and DDoS reports")
struct SecurityTests {
    @Test("firewall settings validate, travel to nodes with the network's protection, and belong to their tenant")
    func settings() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let node = try await NodeAPITests().makeNode(client, admin: admin)
            let (jwt, _) = try await client.signUp(app, email: "guard@example.com")
            let id = try #require(
                try await client.json(.post, "/api/v1/cdn/domains", ["domain": "guard.example", "origin_ip": "203.0.113.9"], token: jwt)[
                    "id"]
                    as? String)
            let base = "/api/v1/cdn/domains/\(id)/security"
            let defaults = try await client.json(.get, base, token: jwt)
            #expect(defaults["waf_sensitivity"] as? String == "medium" && defaults["clearance_minutes"] as? Int == 30)
            #expect((defaults["sanctioned_countries"] as? [String])?.count == 23)

            let patched = try await client.json(
                .patch, base,
                [
                    "ip_block": ["198.51.100.0/24", "2001:db8::1/128"], "country_block": ["de"], "waf_sensitivity": "high",
                    "under_attack": true,
                ],
                token: jwt)
            #expect(patched["ip_block"] as? [String] == ["198.51.100.0/24", "2001:db8::1"])
            #expect(patched["country_block"] as? [String] == ["DE"] && patched["under_attack"] as? Bool == true)
            for (body, field) in [
                (["ip_allow": ["10.0.0.0/33"]], "ip_allow"), (["country_allow": ["DEU"]], "country_allow"),
                (["waf_sensitivity": "max"], "waf_sensitivity"), (["clearance_minutes": 99999], "clearance_minutes"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.patch, base, body, token: jwt)
                #expect(rejected.status == .unprocessableContent && rejected["field"] as? String == field, "\(rejected.text)")
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
                #expect(rejected.status == .unprocessableContent && rejected["field"] as? String == field, "\(rejected.text)")
            }
            let limit = try await client.json(.post, base + "/rate-limits", ["path": "/api/*", "requests": 10, "period": 60], token: jwt)
            #expect(limit.status == .created && limit["action"] as? String == "block" && limit["duration"] as? Int == 60)

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
            let off = try await client.json(.post, "/api/v1/ddos/under-attack", ["domain_id": id, "enabled": false], token: jwt)
            #expect(off["under_attack"] as? Bool == false)
            #expect(
                try await client.json(.post, "/api/v1/ddos/under-attack", ["domain_name": "guard.example"], token: jwt)["field"] as? String
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
            let id = try #require(
                try await client.json(
                    .post, "/api/v1/cdn/domains", ["domain": "attacked.example", "origin_ip": "203.0.113.9"], token: jwt)["id"]
                    as? String)
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
            let attacks = try await client.json(.get, "/api/v1/ddos/attacks", token: jwt)
            #expect(attacks["total"] as? Int == 1, "\(attacks.text)")
            let attack = try #require((attacks["attacks"] as? [[String: Any]])?.first)
            #expect(attack["peak_rps"] as? Int == 900 && attack["severity"] as? String == "high" && attack["status"] as? String == "active")
            #expect(Set(attack["source_ips"] as? [String] ?? []) == ["198.51.100.1", "198.51.100.2"])
            #expect(Set(attack["nodes"] as? [String] ?? []).count == 2)
            #expect(try await client.json(.get, "/api/v1/ddos/attacks?status=mitigated", token: jwt)["total"] as? Int == 0)

            let overview = try await client.json(.get, "/api/v1/ddos/overview?domain_id=\(id)", token: jwt)
            #expect(overview["requests"] as? Int == 3000 && overview["blocked"] as? Int == 900 && overview["challenged"] as? Int == 1800)
            #expect((overview["traffic"] as? [[String: Any]])?.count == 24)
            #expect((overview["attack_types"] as? [String: Int])?["http_flood"] == 1)
            #expect((overview["mitigation_methods"] as? [String: Int])?["js_challenge"] == 1800)
            #expect((overview["top_countries"] as? [[String: Any]])?.first?["country"] as? String == "DE")
            #expect((overview["threat_score"] as? Int ?? 0) > 50)
            let live = try await client.json(.get, "/api/v1/ddos/live", token: jwt)
            #expect(live["active_attacks"] as? Int == 1 && (live["requests_per_second"] as? Double ?? 0) > 0)

            _ = try await client.json(
                .post, "/api/v1/node-api/report", report(one, peak: 450, sources: [], ended: true), token: first.token)
            let ended = try await client.json(.get, "/api/v1/ddos/attacks?status=mitigated", token: jwt)
            #expect(ended["total"] as? Int == 1)

            let (other, _) = try await client.signUp(app, email: "bystander@example.com")
            #expect(try await client.json(.get, "/api/v1/ddos/attacks", token: other)["total"] as? Int == 0)
            #expect(try await client.json(.get, "/api/v1/ddos/overview", token: other)["requests"] as? Int == 0)
            #expect(try await client.json(.get, "/api/v1/ddos/overview?domain_id=\(id)", token: other).status == .notFound)
        }
    }
}
