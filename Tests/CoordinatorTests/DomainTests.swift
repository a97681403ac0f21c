import AsyncHTTPClient
import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import NodeProtocol
import Testing

@testable import Coordinator

@Suite("Domains and DNS records")
struct DomainTests {
    @Test("adding a domain creates proxied apex and www records and shows the nameservers")
    func create() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "owner@example.com")
            let created = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "Example.COM.", "origin_ip": "203.0.113.7"], token: jwt)
            #expect(created.status == .created, "\(created.text)")
            let domain = try created.decode(DomainsController.DomainResponse.self)
            #expect(domain.name == "example.com")
            #expect(domain.status == "pending")
            #expect(domain.nameservers == ["ns1.dcdn.invalid", "ns2.dcdn.invalid"])
            let records = try await client.json(.get, "/api/v1/cdn/domains/\(domain.id)/records", token: jwt).decode(
                DomainsController.RecordList.self)
            #expect(records.total == 2)
            #expect(
                Set(records.records.map { "\($0.name) \($0.type) \($0.content) \($0.proxied)" }) == [
                    "@ A 203.0.113.7 true", "www CNAME example.com true",
                ])

            let idn = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "bücher.example", "origin_ip": "origin.example.net:8080"], token: jwt
            ).decode(DomainsController.DomainResponse.self)
            #expect(idn.name == "xn--bcher-kva.example")
            #expect(idn.origin == "origin.example.net:8080")
            let duplicate = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "example.com", "origin_ip": "203.0.113.7"], token: jwt)
            #expect(duplicate.error?.code == "domain_taken")
            for bad in [
                ["domain": "not a domain", "origin_ip": "203.0.113.7"], ["domain": "x.example", "origin_ip": "10.0.0.1"],
                ["domain": "y.example"],
            ] {
                #expect(try await client.json(.post, "/api/v1/cdn/domains", bad, token: jwt).status == .unprocessableContent)
            }
        }
    }

    @Test("the Free plan allows 3 domains")
    func planLimit() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "limit@example.com")
            for index in 1...3 {
                #expect(
                    try await client.json(
                        .post, "/api/v1/cdn/domains", ["domain": "d\(index).example", "origin_ip": "203.0.113.1"], token: jwt
                    ).status == .created)
            }
            let fourth = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "d4.example", "origin_ip": "203.0.113.1"], token: jwt)
            #expect(fourth.status == .forbidden)
            #expect(fourth.error?.code == "plan_limit_reached")
            #expect(fourth.error?.field == "domains")
            let usage = try await client.json(.get, "/api/v1/account/limits", token: jwt).decode(PlansController.LimitsResponse.self)
            let domains = usage.usage.first { $0.limit == "domains" }
            #expect(domains?.used == 3 && domains?.maximum == 3)
        }
    }

    @Test("settings validate, dev mode lasts three hours, and every edit changes the serial")
    func settings() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "settings@example.com")
            let created = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "site.example", "origin_ip": "203.0.113.7"], token: jwt
            ).decode(DomainsController.DomainResponse.self)
            let id = created.id
            #expect(created.devMode == false && created.devModeUntil == nil)
            let updated = try await client.json(
                .patch, "/api/v1/cdn/domains/\(id)",
                ["ssl_mode": "strict", "cache_level": "aggressive", "browser_ttl": 7200, "dev_mode": true], token: jwt
            ).decode(DomainsController.DomainResponse.self)
            #expect(updated.sslMode == "strict" && updated.cacheLevel == "aggressive" && updated.browserTtl == 7200)
            #expect(updated.devMode == true)
            #expect(updated.serial > created.serial)
            let until = try #require(updated.devModeUntil)
            #expect(abs(until.timeIntervalSinceNow - 3 * 3600) < 60)
            for (field, value) in [("ssl_mode", "sometimes" as Any), ("browser_ttl", 60), ("edge_ttl", 90 * 86400), ("cache_level", "max")]
            {
                let refused = try await client.json(.patch, "/api/v1/cdn/domains/\(id)", [field: value], token: jwt)
                #expect(refused.status == .unprocessableContent)
                #expect(refused.error?.field == field)
            }
        }
    }

    @Test("records validate per type; CNAMEs stand alone; proxied only for A, AAAA, CNAME")
    func records() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "dns@example.com")
            let id = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "zone.example", "origin_ip": "203.0.113.7"], token: jwt
            ).decode(DomainsController.DomainResponse.self).id
            let path = "/api/v1/cdn/domains/\(id)/records"
            let good: [[String: Any]] = [
                ["name": "mail", "type": "A", "content": "203.0.113.25"],
                ["name": "v6", "type": "AAAA", "content": "2001:DB8::1"],
                ["name": "@", "type": "MX", "content": "mail.zone.example.", "priority": 5],
                ["name": "@", "type": "TXT", "content": "\"v=spf1 -all\""],
                ["name": "_sip._tcp", "type": "SRV", "content": "10 5 5060 sip.zone.example"],
                ["name": "@", "type": "CAA", "content": "0 issue letsencrypt.org"],
                ["name": "sub", "type": "NS", "content": "ns1.elsewhere.example"],
                ["name": "*.apps", "type": "A", "content": "203.0.113.50", "ttl": 120],
            ]
            for record in good {
                let response = try await client.json(.post, path, record, token: jwt)
                #expect(response.status == .created, "\(record): \(response.text)")
            }
            let list = try await client.json(.get, path, token: jwt).decode(DomainsController.RecordList.self)
            let contents = list.records.map { "\($0.type) \($0.content)" }
            #expect(contents.contains("AAAA 2001:db8::1"))
            #expect(contents.contains("TXT v=spf1 -all"))
            #expect(contents.contains("CAA 0 issue \"letsencrypt.org\""))
            #expect(contents.contains("SRV 5 5060 sip.zone.example"))

            let bad: [([String: Any], String)] = [
                (["name": "x", "type": "A", "content": "2001:db8::1"], "content"),
                (["name": "x", "type": "AAAA", "content": "1.2.3.4"], "content"),
                (["name": "x", "type": "MX", "content": "mail.example", "priority": 70000], "priority"),
                (["name": "x", "type": "TXT", "content": String(repeating: "a", count: 5000)], "content"),
                (["name": "x", "type": "SRV", "content": "5060 sip"], "content"),
                (["name": "x", "type": "CAA", "content": "0 rocket x"], "content"),
                (["name": "x", "type": "PTR", "content": "a.example"], "type"),
                (["name": "bad name!", "type": "A", "content": "1.2.3.4"], "name"),
                (["name": "x", "type": "A", "content": "1.2.3.4", "ttl": 5], "ttl"),
                (["name": "x", "type": "TXT", "content": "hi", "proxied": true], "proxied"),
                (["name": "@", "type": "NS", "content": "ns.example"], "name"),
            ]
            for (record, field) in bad {
                let response = try await client.json(.post, path, record, token: jwt)
                #expect(response.status == .unprocessableContent, "\(record)")
                #expect(response.error?.field == field, "\(record): \(response.text)")
            }
            #expect(
                try await client.json(.post, path, ["name": "www", "type": "A", "content": "203.0.113.9"], token: jwt).error?.code
                    == "cname_conflict")
            #expect(
                try await client.json(.post, path, ["name": "mail", "type": "A", "content": "203.0.113.25"], token: jwt).error?.code
                    == "duplicate_record")

            let mail = try #require(list.records.first { $0.name == "mail" }).id
            let toggled = try await client.json(.patch, "\(path)/\(mail)", ["proxied": true], token: jwt).decode(
                DomainsController.RecordResponse.self)
            #expect(toggled.id == mail && toggled.proxied == true)
            #expect(try await client.json(.delete, "\(path)/\(mail)", token: jwt).status == .noContent)
            #expect(try await client.json(.get, "\(path)/\(mail)", token: jwt).status == .notFound)
        }
    }

    @Test("another tenant's domain and records are not found")
    func isolation() async throws {
        try await TestApp.run { app, client in
            let (alice, _) = try await client.signUp(app, email: "alice@example.com")
            let (mallory, _) = try await client.signUp(app, email: "mallory@example.com")
            let id = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "alice.example", "origin_ip": "203.0.113.7"], token: alice
            ).decode(DomainsController.DomainResponse.self).id
            for (method, path) in [(HTTPRequest.Method.get, ""), (.patch, ""), (.delete, ""), (.get, "/records"), (.get, "/zone")] {
                let response = try await client.json(
                    method, "/api/v1/cdn/domains/\(id)\(path)", method == .patch ? ["ssl_mode": "off"] : nil, token: mallory)
                #expect(response.status == .notFound, "\(method) \(path)")
            }
            #expect(
                try await client.json(
                    .post, "/api/v1/cdn/domains/\(id)/records", ["name": "evil", "type": "A", "content": "203.0.113.66"], token: mallory
                ).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/content_moderation/status/alice.example", token: mallory).status == .notFound)
            // A zone inside Alice's would answer her names: refused, at any depth. Her own is fine.
            for name in ["api.alice.example", "a.b.ALICE.example."] {
                let inside = try await client.json(
                    .post, "/api/v1/cdn/domains", ["domain": name, "origin_ip": "203.0.113.66"], token: mallory)
                #expect(inside.status == .conflict && inside.error?.code == "domain_taken", "\(name): \(inside.text)")
            }
            let own = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "shop.alice.example", "origin_ip": "203.0.113.7"], token: alice)
            #expect(own.status == .created)
            let malloryDomains = try await client.json(.get, "/api/v1/cdn/domains", token: mallory).decode(
                DomainsController.DomainList.self)
            #expect(malloryDomains.total == 0 && malloryDomains.domains.isEmpty)
        }
    }

    @Test("BIND zone files export and import, reporting lines that fail")
    func zoneFiles() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "zone@example.com")
            let id = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "import.example", "origin_ip": "203.0.113.7"], token: jwt
            ).decode(DomainsController.DomainResponse.self).id
            let zone = """
                $ORIGIN import.example.
                $TTL 3600
                @   IN SOA ns.old.example. admin.old.example. ( 2024010101 ; serial
                        3600 600 86400 300 )
                @       IN NS   ns.old.example.
                @       IN MX   10 mail
                mail    300 IN A 203.0.113.25
                        IN AAAA 2001:db8::25
                txt     IN TXT  "part one " "part two"
                _xmpp._tcp IN SRV 5 0 5269 xmpp.import.example.
                alias   IN CNAME mail
                broken  IN A 999.1.1.1
                other.example. IN A 203.0.113.1
                """
            let result = try await client.json(.post, "/api/v1/cdn/domains/\(id)/zone", ["zone": zone], token: jwt)
            #expect(result.status == .ok, "\(result.text)")
            let imported = try result.decode(ZoneFile.ImportResult.self)
            #expect(imported.imported == 6)
            #expect(imported.skipped == 2, "SOA and apex NS are DCDN's")
            #expect(imported.errors.map(\.line) == [12, 13])

            let exported = try await client.execute(
                uri: "/api/v1/cdn/domains/\(id)/zone", method: .get, headers: [.authorization: "Bearer \(jwt)"]
            ) { String(buffer: $0.body) }
            #expect(exported.contains("$ORIGIN import.example."))
            #expect(exported.contains("mail\t300\tIN\tA\t203.0.113.25"))
            #expect(exported.contains("txt\t3600\tIN\tTXT\t\"part one part two\""))
            #expect(exported.contains("_xmpp._tcp\t3600\tIN\tSRV\t5 0 5269 xmpp.import.example."))
            #expect(exported.contains("\t; proxied"))
            // What was exported imports again without changes.
            let again = try await client.json(.post, "/api/v1/cdn/domains/\(id)/zone", ["zone": exported], token: jwt).decode(
                ZoneFile.ImportResult.self)
            #expect(again.imported == 0)
            #expect(again.errors.isEmpty)
        }
    }

    @Test("high availability under both names")
    func highAvailability() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "ha@example.com")
            _ = try await client.json(.post, "/api/v1/cdn/domains", ["domain": "ha.example", "origin_ip": "203.0.113.7"], token: jwt)
            let features = try await client.json(.get, "/api/v1/content_moderation/features").decode(
                HighAvailabilityController.Features.self)
            #expect(features.features.count == 6 && features.total == 6)
            let enabled = try await client.json(
                .post, "/api/v1/content_moderation/enable",
                ["domain_name": "ha.example", "multi_node_redundancy": true, "dns_fallback": true], token: jwt
            ).decode(HighAvailabilityController.Status.self)
            #expect(enabled.domain == "ha.example" && enabled.enabled == true)
            let status = try await client.json(.get, "/api/v1/high-availability/status/ha.example", token: jwt).decode(
                HighAvailabilityController.Status.self)
            #expect(status.multiNodeRedundancy == true)
            #expect(status.dnsFallback == true)
        }
    }

    @Test("DNS fallback spans the NS set over two regions of nameserver nodes")
    func fallbackNameservers() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (jwt, _) = try await client.signUp(app, email: "fallback@example.com")
            for (name, region, hostname) in [
                ("ams-1", "eu-west", "ns-ams.dcdn.test"), ("ams-2", "eu-west", "ns-ams2.dcdn.test"),
                ("nyc-1", "us-east", "NS-NYC.dcdn.test."),
                ("edge-1", "ap-south", ""),
            ] {
                let created = try await client.json(
                    .post, "/api/v1/admin/nodes",
                    ["name": name, "roles": ["dns"], "region": region, "country": "NL", "ipv4": "192.0.2.53", "hostname": hostname],
                    token: admin)
                #expect(created.status == .created, "\(created.text)")
            }
            let bad = try await client.json(
                .post, "/api/v1/admin/nodes",
                ["name": "bad", "roles": ["dns"], "region": "r", "country": "NL", "ipv4": "192.0.2.1", "hostname": "not a host"],
                token: admin)
            #expect(bad.error?.field == "hostname")
            let created = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "fb.example", "origin_ip": "203.0.113.7"], token: jwt)
            let domain = try created.decode(DomainsController.DomainResponse.self)
            let configured = app.coordinator.settings.nameservers
            #expect(domain.nameservers == configured, "without DNS fallback the platform's names")
            let enabled = try await client.json(
                .post, "/api/v1/high-availability/enable", ["domain_name": "fb.example", "dns_fallback": true], token: jwt
            ).decode(HighAvailabilityController.Status.self)
            // One name per region not yet covered, in region order: ams-2 adds nothing.
            #expect(enabled.nameservers == configured + ["ns-ams.dcdn.test", "ns-nyc.dcdn.test"])
            #expect(enabled.nameserverRegions == ["eu-west", "us-east"])
            let shown = try await client.json(.get, "/api/v1/cdn/domains/\(domain.id)", token: jwt).decode(
                DomainsController.DomainResponse.self)
            #expect(shown.nameservers == enabled.nameservers)
            let zone = try await client.json(.get, "/api/v1/cdn/domains/\(domain.id)/zone", token: jwt).text
            #expect(zone.contains("@\t86400\tIN\tNS\tns-nyc.dcdn.test."))
        }
    }
}

@Suite("Nodes and the node API")
struct NodeAPITests {
    func makeNode(_ client: any TestClientProtocol, admin: String, name: String = "fra-1") async throws -> (id: String, token: String) {
        let created = try await client.json(
            .post, "/api/v1/admin/nodes",
            ["name": name, "roles": ["edge", "dns"], "region": "eu-central", "country": "de", "ipv4": "192.0.2.10"], token: admin)
        #expect(created.status == .created, "\(created.text)")
        let node = try created.decode(NodesAdminController.NodeResponse.self)
        return (node.id.uuidString, try #require(node.token))
    }

    @Test("admins create nodes with a token shown once; customers cannot")
    func admin() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (user, _) = try await client.signUp(app, email: "customer@example.com")
            #expect(try await client.json(.get, "/api/v1/admin/nodes", token: user).status == .forbidden)
            let (id, token) = try await makeNode(client, admin: admin)
            #expect(token.hasPrefix("dcdn_node_"))
            let list = try await client.json(.get, "/api/v1/admin/nodes", token: admin)
            #expect(!list.text.contains(token))
            let nodes = try list.decode(NodesAdminController.NodeList.self)
            #expect(nodes.nodes.first?.country == "DE" && nodes.nodes.allSatisfy { $0.token == nil })
            let rotated = try await client.json(.post, "/api/v1/admin/nodes/\(id)/token", token: admin).decode(
                NodesAdminController.NodeResponse.self)
            let newToken = try #require(rotated.token)
            #expect(newToken != token)
            #expect(try await client.json(.get, "/api/v1/node-api/config", token: token).status == .unauthorized)
            #expect(try await client.json(.get, "/api/v1/node-api/config", token: newToken).status == .ok)
            let bad = try await client.json(
                .post, "/api/v1/admin/nodes", ["name": "x", "roles": ["edge"], "region": "r", "country": "Germany", "ipv4": "192.0.2.1"],
                token: admin)
            #expect(bad.error?.field == "country")
            #expect(try await client.json(.get, "/api/v1/node-api/config", token: jwtLike).status == .unauthorized)
        }
    }
    let jwtLike = "dcdn_node_not-a-real-token"

    @Test("snapshots, deltas with removals, and long polls that wake on change", .timeLimit(.minutes(1)))
    func config() async throws {
        // The long poll's time is a clock the test moves: a timeout is a step of the clock, and
        // an answer that came without one woke on the change.
        let clock = ManualClock()
        try await TestApp.run(clock: clock) { app, client in
            /// Returns once a long poll waits on this replica (its timer and its wake-up are set).
            @Sendable func pollIsWaiting() async {
                while app.coordinator.feed.waitingPolls == 0 || clock.sleeping == 0 { await Task.yield() }
            }
            let admin = try await client.signInAdmin(app)
            let (_, token) = try await makeNode(client, admin: admin)
            let (jwt, _) = try await client.signUp(app, email: "sync@example.com")
            let first = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "one.example", "origin_ip": "203.0.113.1"], token: jwt)
            let full = try await client.nodeConfig(token: token)
            #expect(full.full)
            let version = full.version
            #expect(full.dns?.zones.map(\.name) == ["one.example"] && full.edge?.domains.map(\.name) == ["one.example"])
            #expect(full.dns?.zones.first?.records.count == 2)
            #expect(full.nodes.first?.name == "fra-1")

            async let unchanged = client.json(.get, "/api/v1/node-api/config?since=\(version)&wait=1", token: token)
            await pollIsWaiting()
            clock.advance(by: .seconds(1))
            #expect(try await unchanged.status == .notModified)

            // A change made while a node waits reaches it within the poll, as a delta.
            // (The change goes through a second connection: the test client has one.)
            async let waiting = client.json(.get, "/api/v1/node-api/config?since=\(version)&wait=20", token: token)
            await pollIsWaiting()
            var change = HTTPClientRequest(url: "http://127.0.0.1:\(try #require(client.port))/api/v1/cdn/domains")
            change.method = .POST
            change.headers.add(name: "Authorization", value: "Bearer \(jwt)")
            change.headers.add(name: "Content-Type", value: "application/json")
            change.body = .bytes(ByteBuffer(string: #"{"domain": "two.example", "origin_ip": "203.0.113.2"}"#))
            #expect(try await HTTPClient.shared.execute(change, timeout: .seconds(10)).status == .created)
            let waited = try await waiting
            let delta = try JSONDecoder.nodeAPI.decode(NodeConfigSnapshot.self, from: Data(waited.text.utf8))
            #expect(!delta.full)
            #expect(delta.dns?.zones.map(\.name) == ["two.example"] && delta.edge?.domains.map(\.name) == ["two.example"])
            // A node applies the delta to what it has: both domains, in each section.
            let applied = full.applying(delta)
            #expect(applied.full && applied.dns?.zones.map(\.name) == ["one.example", "two.example"])
            #expect(applied.edge?.domains.map(\.name) == ["one.example", "two.example"])

            let firstID = try first.decode(DomainsController.DomainResponse.self).id
            _ = try await client.json(.delete, "/api/v1/cdn/domains/\(firstID)", token: jwt)
            let removal = try await client.nodeConfig("since=\(delta.version)", token: token)
            #expect(removal.removedDomains == [firstID])
            #expect(removal.dns?.zones.isEmpty == true && removal.edge?.domains.isEmpty == true)
            #expect(applied.applying(removal).dns?.zones.map(\.name) == ["two.example"])
            #expect(try await client.json(.get, "/api/v1/node-api/config?wait=999", token: token).error?.field == "wait")
        }
    }

    @Test("heartbeats make a node healthy; silence makes it unhealthy")
    func health() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (id, token) = try await makeNode(client, admin: admin)
            let register = try await client.json(
                .post, "/api/v1/node-api/register", ["role": "edge", "ipv4": "192.0.2.99", "region": "eu-west"], token: token)
            #expect(register.status == .ok, "\(register.text)")
            let report = try await client.json(
                .post, "/api/v1/node-api/report",
                [
                    "window_seconds": 5,
                    "domains": [
                        [
                            "domain": "x.example", "requests": 10, "bytes": 1000, "cache_hits": 7, "status2xx": 9, "status3xx": 0,
                            "status4xx": 1, "status5xx": 0, "blocked": 0, "challenged": 0,
                        ]
                    ],
                ],
                token: token)
            #expect(report.status == .noContent, "\(report.text)")
            let node = try #require(try await Node.find(UUID(uuidString: id), on: app.coordinator.store.db))
            #expect(node.healthy)
            #expect(node.ipv4 == "192.0.2.99")
            #expect(node.region == "eu-west")
            let counters = try await TrafficCounter.query(on: app.coordinator.store.db).all()
            #expect(counters.first?.requests == 10)
            #expect(try await app.coordinator.nodes.expireSilentNodes(now: Date().addingTimeInterval(16)) == 1)
            #expect(try await Node.find(UUID(uuidString: id), on: app.coordinator.store.db)?.healthy == false)
            let badRole = try await client.json(.post, "/api/v1/node-api/register", ["role": "toaster"], token: token)
            #expect(badRole.error?.field == "role")
        }
    }

    @Test("an IP allowlist keeps other addresses out")
    func allowlist() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (id, token) = try await makeNode(client, admin: admin)
            _ = try await client.json(.patch, "/api/v1/admin/nodes/\(id)", ["ip_allowlist": ["198.51.100.0/24"]], token: admin)
            let refused = try await client.json(.get, "/api/v1/node-api/config", token: token)
            #expect(refused.status == .forbidden)
            #expect(refused.error?.code == "ip_not_allowed")
            _ = try await client.json(.patch, "/api/v1/admin/nodes/\(id)", ["ip_allowlist": ["127.0.0.0/8"]], token: admin)
            #expect(try await client.json(.get, "/api/v1/node-api/config", token: token).status == .ok)
        }
    }
}

@Suite("ACME DNS-01 challenges")
struct DNSChallengeTests {
    @Test("the coordinator publishes _acme-challenge TXT records in the right zone, and withdraws them")
    func publish() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "tls@example.com")
            _ = try await client.json(.post, "/api/v1/cdn/domains", ["domain": "secure.example", "origin_ip": "203.0.113.7"], token: jwt)
            let before = try await app.coordinator.feed.snapshot(since: nil, roles: [.dns])
            let wildcard = try await app.coordinator.domains.publishChallenge(host: "*.secure.example", value: "token-apex")
            _ = try await app.coordinator.domains.publishChallenge(host: "www.secure.example", value: "token-www")
            let delta = try await app.coordinator.feed.snapshot(since: before.version, roles: [.dns])
            let records = try #require(delta.dns?.zones.first).records.filter { $0.type == "TXT" }
            #expect(Set(records.map { "\($0.name)=\($0.content)" }) == ["_acme-challenge=token-apex", "_acme-challenge.www=token-www"])
            // Not a customer record.
            let id = try #require(delta.dns?.zones.first?.id)
            let listed = try await client.json(.get, "/api/v1/cdn/domains/\(id.uuidString)/records", token: jwt)
            #expect(!listed.text.contains("_acme-challenge"))
            try await app.coordinator.domains.withdrawChallenge(wildcard)
            let after = try await app.coordinator.feed.snapshot(since: nil, roles: [.dns])
            #expect(after.dns?.zones.first?.records.filter { $0.type == "TXT" }.map(\.content) == ["token-www"])
            await #expect(throws: APIError.self) {
                _ = try await app.coordinator.domains.publishChallenge(host: "other.example", value: "x")
            }
        }
    }
}
