import DCDNCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NodeProtocol
import Testing

@testable import Coordinator

@Suite("Page rules, purges and analytics")
struct CDNTests {
    func domain(_ client: any TestClientProtocol, _ jwt: String, _ name: String = "rules.example") async throws -> String {
        let created = try await client.json(.post, "/api/v1/cdn/domains", ["domain": name, "origin_ip": "203.0.113.9"], token: jwt)
        return try #require(created["id"] as? String)
    }

    @Test("page rules keep their order, validate, travel to nodes, and belong to their tenant")
    func pageRules() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let node = try await NodeAPITests().makeNode(client, admin: admin)
            let (jwt, _) = try await client.signUp(app, email: "rules@example.com")
            let id = try await domain(client, jwt)
            let base = "/api/v1/cdn/domains/\(id)/page-rules"
            let api = try await client.json(.post, base, ["pattern": "*.rules.example/api/*", "cache_level": "bypass"], token: jwt)
            #expect(api.status == .created, "\(api.text)")
            let old = try await client.json(
                .post, base, ["pattern": "rules.example/old/*", "forwarding_url": "https://rules.example/new/$1", "position": 1], token: jwt
            )
            #expect(old["position"] as? Int == 1 && old["forwarding_status"] as? Int == 302)
            let list = try await client.json(.get, base, token: jwt)
            #expect(
                (list["page_rules"] as? [[String: Any]])?.map { $0["pattern"] as? String } == [
                    "rules.example/old/*", "*.rules.example/api/*",
                ])

            let moved = try await client.json(
                .patch, "\(base)/\(try #require(api["id"] as? String))", ["position": 1, "edge_ttl": 60], token: jwt)
            #expect(moved["position"] as? Int == 1 && moved["edge_ttl"] as? Int == 60)
            let cleared = try await client.json(
                .patch, "\(base)/\(try #require(api["id"] as? String))", ["clear": ["edge_ttl"]], token: jwt)
            #expect(cleared["edge_ttl"] == nil && cleared["cache_level"] as? String == "bypass")
            #expect(
                try await client.json(.patch, "\(base)/\(try #require(api["id"] as? String))", ["clear": ["cache_level"]], token: jwt)[
                    "field"] as? String == "actions")

            for (body, field) in [
                (["pattern": "elsewhere.example/*", "cache_level": "bypass"], "pattern"),
                (["pattern": "notrules.example/*", "cache_level": "bypass"], "pattern"),
                (["pattern": "rules.example/*", "edge_ttl": 0], "edge_ttl"),
                (["pattern": "rules.example/*", "browser_ttl": 60], "browser_ttl"),
                (["pattern": "rules.example/*", "forwarding_url": "https://x.example/", "forwarding_status": 307], "forwarding_status"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.post, base, body, token: jwt)
                #expect(rejected.status == .unprocessableContent && rejected["field"] as? String == field, "\(body): \(rejected.text)")
            }

            let rules = try await client.nodeConfig(token: node.token).edge?.domains.first?.pageRules
            #expect(rules?.map(\.pattern) == ["*.rules.example/api/*", "rules.example/old/*"])
            #expect(rules?.last?.forwardingUrl == "https://rules.example/new/$1")

            let (other, _) = try await client.signUp(app, email: "other@example.com")
            #expect(try await client.json(.get, base, token: other).status == .notFound)
            #expect(try await client.json(.delete, "\(base)/\(try #require(old["id"] as? String))", token: other).status == .notFound)
            #expect(try await client.json(.delete, "\(base)/\(try #require(old["id"] as? String))", token: jwt).status == .noContent)
            #expect((try await client.json(.get, base, token: jwt)["total"] as? Int) == 1)
        }
    }

    @Test("a purge is published as a configuration change and counted by the nodes that synced it")
    func purge() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let node = try await NodeAPITests().makeNode(client, admin: admin)
            let (jwt, _) = try await client.signUp(app, email: "purge@example.com")
            let id = try await domain(client, jwt, "purge.example")
            let before = try await client.nodeConfig(token: node.token).version
            let purge = try await client.json(
                .post, "/api/v1/cdn/domains/\(id)/purge", ["urls": ["https://www.purge.example/a.css?v=1", "/b.js"]], token: jwt)
            #expect(purge.status == .accepted, "\(purge.text)")
            #expect(purge["urls"] as? [String] == ["www.purge.example/a.css?v=1", "purge.example/b.js"])
            let delta = try await client.nodeConfig("since=\(before)", token: node.token)
            let commands = try #require(delta.edge?.purges)
            #expect(commands.count == 1 && commands[0].domain == "purge.example")
            #expect(commands[0].id == purge["version"] as? Int64)
            #expect(purge["nodes_done"] as? Int == 0)
            _ = try await client.json(
                .post, "/api/v1/node-api/report", ["window_seconds": 5, "config_version": delta.version], token: node.token)
            let listed = try await client.json(.get, "/api/v1/cdn/domains/\(id)/purges", token: jwt)
            #expect((listed["purges"] as? [[String: Any]])?.first?["nodes_done"] as? Int == 1)
            #expect((listed["purges"] as? [[String: Any]])?.first?["nodes_total"] as? Int == 1)

            for (body, field) in [
                ([:], "everything"), (["tags": [String]()], "tags"), (["urls": ["https://other.example/"]], "urls"),
                (["prefixes": Array(repeating: "/a", count: 101)], "prefixes"), (["everything": true, "urls": ["/a"]], "everything"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.post, "/api/v1/cdn/domains/\(id)/purge", body, token: jwt)
                #expect(rejected.status == .unprocessableContent && rejected["field"] as? String == field, "\(body): \(rejected.text)")
            }
            let (other, _) = try await client.signUp(app, email: "not-owner@example.com")
            #expect(try await client.json(.post, "/api/v1/cdn/domains/\(id)/purge", ["everything": true], token: other).status == .notFound)
        }
    }

    @Test("analytics sums the nodes' reports into zero-filled buckets")
    func analytics() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let node = try await NodeAPITests().makeNode(client, admin: admin)
            let (jwt, _) = try await client.signUp(app, email: "stats@example.com")
            let id = try await domain(client, jwt, "stats.example")
            for requests in [10, 30] {
                let report: [String: Any] = [
                    "window_seconds": 5,
                    "domains": [
                        [
                            "domain": "stats.example", "requests": requests, "bytes": 1000, "cache_hits": requests / 2,
                            "status2xx": requests,
                            "status3xx": 0, "status4xx": 0, "status5xx": 0, "blocked": 0, "challenged": 0,
                        ]
                    ],
                ]
                #expect(try await client.json(.post, "/api/v1/node-api/report", report, token: node.token).status == .noContent)
            }
            let hour = try await client.json(.get, "/api/v1/cdn/domains/\(id)/analytics?period=1h", token: jwt)
            #expect(hour["interval_seconds"] as? Int == 60)
            let buckets = try #require(hour["buckets"] as? [[String: Any]])
            #expect(buckets.count == 60)
            #expect(buckets.compactMap { $0["requests"] as? Int }.reduce(0, +) == 40)
            let totals = try #require(hour["totals"] as? [String: Any])
            #expect(totals["requests"] as? Int == 40 && totals["cache_hits"] as? Int == 20 && totals["cache_hit_ratio"] as? Double == 0.5)
            #expect(
                try await client.json(.get, "/api/v1/cdn/domains/\(id)/analytics?period=30d", token: jwt)["buckets"].map {
                    ($0 as? [Any])?.count
                } == 30)
            #expect(
                try await client.json(.get, "/api/v1/cdn/domains/\(id)/analytics?period=1y", token: jwt)["field"] as? String == "period")
            let cookie = try await dashboardSession(client, email: "stats@example.com")
            let html = try await client.execute(
                uri: "/dashboard/domains/\(id)/analytics?period=1h", method: .get, headers: [.cookie: cookie]
            ) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            #expect(html.contains("<svg class=\"chart\"") && html.contains("50.0 %"))
        }
    }
}
