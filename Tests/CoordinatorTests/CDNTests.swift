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
    func domain(_ client: any TestClientProtocol, _ jwt: String, _ name: String = "rules.example") async throws -> UUID {
        let created = try await client.json(.post, "/api/v1/cdn/domains", ["domain": name, "origin_ip": "203.0.113.9"], token: jwt)
        #expect(created.status == .created, "\(created.text)")
        return try created.decode(DomainsController.DomainResponse.self).id
    }

    @Test("page rules keep their order, validate, travel to nodes, and belong to their tenant")
    func pageRules() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let node = try await NodeAPITests().makeNode(client, admin: admin)
            let (jwt, _) = try await client.signUp(app, email: "rules@example.com")
            let id = try await domain(client, jwt)
            let base = "/api/v1/cdn/domains/\(id)/page-rules"
            let created = try await client.json(.post, base, ["pattern": "*.rules.example/api/*", "cache_level": "bypass"], token: jwt)
            #expect(created.status == .created, "\(created.text)")
            let api = try created.decode(CDNController.RuleResponse.self)
            let old = try await client.json(
                .post, base, ["pattern": "rules.example/old/*", "forwarding_url": "https://rules.example/new/$1", "position": 1], token: jwt
            ).decode(CDNController.RuleResponse.self)
            #expect(old.position == 1 && old.forwardingStatus == 302)
            let list = try await client.json(.get, base, token: jwt).decode(CDNController.RuleList.self)
            #expect(list.pageRules.map(\.pattern) == ["rules.example/old/*", "*.rules.example/api/*"])

            let moved = try await client.json(.patch, "\(base)/\(api.id)", ["position": 1, "edge_ttl": 60], token: jwt).decode(
                CDNController.RuleResponse.self)
            #expect(moved.position == 1 && moved.edgeTtl == 60)
            let cleared = try await client.json(.patch, "\(base)/\(api.id)", ["clear": ["edge_ttl"]], token: jwt)
            // A cleared setting is left out of the rule, not sent as null.
            let clearedRule = try cleared.decode(CDNController.RuleResponse.self)
            #expect(clearedRule.edgeTtl == nil && !cleared.text.contains("\"edge_ttl\"") && clearedRule.cacheLevel == "bypass")
            #expect(
                try await client.json(.patch, "\(base)/\(api.id)", ["clear": ["cache_level"]], token: jwt).error?.field == "actions")

            for (body, field) in [
                (["pattern": "elsewhere.example/*", "cache_level": "bypass"], "pattern"),
                (["pattern": "notrules.example/*", "cache_level": "bypass"], "pattern"),
                (["pattern": "rules.example/*", "edge_ttl": 0], "edge_ttl"),
                (["pattern": "rules.example/*", "browser_ttl": 60], "browser_ttl"),
                (["pattern": "rules.example/*", "forwarding_url": "https://x.example/", "forwarding_status": 307], "forwarding_status"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.post, base, body, token: jwt)
                #expect(rejected.status == .unprocessableContent && rejected.error?.field == field, "\(body): \(rejected.text)")
            }

            let rules = try await client.nodeConfig(token: node.token).edge?.domains.first?.pageRules
            #expect(rules?.map(\.pattern) == ["*.rules.example/api/*", "rules.example/old/*"])
            #expect(rules?.last?.forwardingUrl == "https://rules.example/new/$1")

            let (other, _) = try await client.signUp(app, email: "other@example.com")
            #expect(try await client.json(.get, base, token: other).status == .notFound)
            #expect(try await client.json(.delete, "\(base)/\(old.id)", token: other).status == .notFound)
            #expect(try await client.json(.delete, "\(base)/\(old.id)", token: jwt).status == .noContent)
            let left = try await client.json(.get, base, token: jwt).decode(CDNController.RuleList.self)
            #expect(left.total == 1 && left.pageRules.map(\.id) == [api.id])
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
            let accepted = try await client.json(
                .post, "/api/v1/cdn/domains/\(id)/purge", ["urls": ["https://www.purge.example/a.css?v=1", "/b.js"]], token: jwt)
            #expect(accepted.status == .accepted, "\(accepted.text)")
            let purge = try accepted.decode(CDNController.PurgeResponse.self)
            #expect(purge.urls == ["www.purge.example/a.css?v=1", "purge.example/b.js"] && !purge.everything)
            let delta = try await client.nodeConfig("since=\(before)", token: node.token)
            let commands = try #require(delta.edge?.purges)
            #expect(commands.count == 1 && commands[0].domain == "purge.example")
            #expect(commands[0].id == purge.version)
            #expect(purge.nodesDone == 0)
            _ = try await client.json(
                .post, "/api/v1/node-api/report", ["window_seconds": 5, "config_version": delta.version], token: node.token)
            let listed = try await client.json(.get, "/api/v1/cdn/domains/\(id)/purges", token: jwt).decode(CDNController.PurgeList.self)
            #expect(listed.purges.first?.id == purge.id)
            #expect(listed.purges.first?.nodesDone == 1)
            #expect(listed.purges.first?.nodesTotal == 1)

            for (body, field) in [
                ([:], "everything"), (["tags": [String]()], "tags"), (["urls": ["https://other.example/"]], "urls"),
                (["prefixes": Array(repeating: "/a", count: 101)], "prefixes"), (["everything": true, "urls": ["/a"]], "everything"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.post, "/api/v1/cdn/domains/\(id)/purge", body, token: jwt)
                #expect(rejected.status == .unprocessableContent && rejected.error?.field == field, "\(body): \(rejected.text)")
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
            let hour = try await client.json(.get, "/api/v1/cdn/domains/\(id)/analytics?period=1h", token: jwt).decode(
                CDNController.Analytics.self)
            #expect(hour.domain == "stats.example" && hour.period == "1h" && hour.intervalSeconds == 60)
            #expect(hour.buckets.count == 60)
            #expect(hour.buckets.map(\.requests).reduce(0, +) == 40)
            let totals = hour.totals
            #expect(totals.requests == 40 && totals.cacheHits == 20 && totals.cacheHitRatio == 0.5)
            #expect(
                try await client.json(.get, "/api/v1/cdn/domains/\(id)/analytics?period=30d", token: jwt).decode(
                    CDNController.Analytics.self
                ).buckets.count == 30)
            #expect(
                try await client.json(.get, "/api/v1/cdn/domains/\(id)/analytics?period=1y", token: jwt).error?.field == "period")
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
