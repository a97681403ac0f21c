import DCDNCore
import Foundation
import HTTPCache
import NodeProtocol
import Testing

@testable import EdgeNode

@Suite("Edge routes")
struct EdgeRoutesTests {
    static func snapshot(origin: String, sslMode: String, records: [DNSRecordConfig]) -> NodeConfigSnapshot {
        NodeConfigSnapshot(
            version: 3, full: true,
            edge: EdgeConfig(domains: [
                EdgeDomainConfig(
                    id: UUID(), name: "example.com", origin: origin, sslMode: sslMode, cacheLevel: "standard", browserTtl: 3600,
                    edgeTtl: 3600, devModeUntil: nil, underAttack: false, records: records)
            ]))
    }

    static let records = [
        DNSRecordConfig(name: "@", type: "A", content: "203.0.113.7", ttl: 0, priority: nil, proxied: true),
        DNSRecordConfig(name: "www", type: "CNAME", content: "example.com", ttl: 0, priority: nil, proxied: true),
        DNSRecordConfig(name: "shop", type: "CNAME", content: "shops.saas.example", ttl: 0, priority: nil, proxied: true),
        DNSRecordConfig(name: "*.apps", type: "A", content: "203.0.113.50", ttl: 0, priority: nil, proxied: true),
        DNSRecordConfig(name: "mail", type: "A", content: "203.0.113.25", ttl: 0, priority: nil, proxied: false),
    ]

    @Test("proxied names route to their origin; DNS-only names do not")
    func routes() throws {
        let routes = EdgeRoutes(snapshot: Self.snapshot(origin: "203.0.113.7:8080", sslMode: "off", records: Self.records))
        let apex = try #require(routes.route(forHost: "Example.COM:80"))
        #expect(apex.originHost == "203.0.113.7" && apex.originPort == 8080 && !apex.originTLS)
        #expect(routes.route(forHost: "www.example.com")?.originHost == "203.0.113.7", "a CNAME inside the zone uses the domain's origin")
        #expect(routes.route(forHost: "shop.example.com")?.originHost == "shops.saas.example")
        #expect(routes.route(forHost: "x.apps.example.com")?.originHost == "203.0.113.50")
        #expect(routes.route(forHost: "mail.example.com") == nil)
        #expect(routes.route(forHost: "example.org") == nil)
    }

    @Test("a host named by two zones routes by the closest enclosing one, in either order")
    func closestZone() throws {
        func domain(_ name: String, _ records: [DNSRecordConfig]) -> EdgeDomainConfig {
            EdgeDomainConfig(
                id: UUID(), name: name, origin: "203.0.113.1", sslMode: "off", cacheLevel: "standard", browserTtl: 3600, edgeTtl: 3600,
                devModeUntil: nil, underAttack: false, records: records)
        }
        let child = domain(
            "shop.example.com", [DNSRecordConfig(name: "@", type: "A", content: "203.0.113.9", ttl: 0, priority: nil, proxied: true)])
        let parent = domain(
            "example.com", [DNSRecordConfig(name: "shop", type: "A", content: "198.51.100.66", ttl: 0, priority: nil, proxied: true)])
        for domains in [[child, parent], [parent, child]] {
            let routes = EdgeRoutes(snapshot: NodeConfigSnapshot(version: 1, full: true, edge: EdgeConfig(domains: domains)))
            let route = try #require(routes.route(forHost: "shop.example.com"))
            #expect(route.domain == "shop.example.com" && route.originHost == "203.0.113.9")
        }
    }

    @Test("the SSL mode decides the origin leg: off/flexible HTTP, full HTTPS, strict verified HTTPS")
    func sslModes() throws {
        for (mode, tls, verify, port) in [
            ("off", false, false, 80), ("flexible", false, false, 80), ("full", true, false, 443), ("strict", true, true, 443),
        ] {
            let route = try #require(
                EdgeRoutes(snapshot: Self.snapshot(origin: "203.0.113.7", sslMode: mode, records: Self.records)).route(
                    forHost: "example.com"))
            #expect(route.originTLS == tls && route.verifyOrigin == verify && route.originPort == port, "\(mode)")
        }
        var route = try #require(
            EdgeRoutes(snapshot: Self.snapshot(origin: "203.0.113.7", sslMode: "full", records: Self.records)).route(forHost: "example.com")
        )
        route.originHost = "2001:db8::1"
        #expect(OriginFetcher.originURL(route, path: "/a?b=1") == "https://[2001:db8::1]:443/a?b=1")
    }

    @Test("a configuration of thousands of domains applies whole, and every host routes to its own origin")
    func thousandsOfDomains() throws {
        let domains = (0..<5000).map { index in
            EdgeDomainConfig(
                id: UUID(), name: "site\(index).example", origin: "198.51.\(index / 250).\(index % 250 + 1)", sslMode: "off",
                cacheLevel: "standard", browserTtl: 3600, edgeTtl: 3600, devModeUntil: nil, underAttack: false,
                records: [
                    DNSRecordConfig(
                        name: "@", type: "A", content: "198.51.\(index / 250).\(index % 250 + 1)", ttl: 0, priority: nil, proxied: true),
                    DNSRecordConfig(name: "www", type: "CNAME", content: "site\(index).example", ttl: 0, priority: nil, proxied: true),
                ],
                pageRules: [PageRuleConfig(pattern: "site\(index).example/api/*", cacheLevel: "bypass")])
        }
        let state = EdgeState()
        state.apply(
            NodeConfigSnapshot(version: 9, full: true, edge: EdgeConfig(domains: domains)))
        let routes = state.routes
        #expect(routes.version == 9)
        for index in stride(from: 0, to: 5000, by: 7) {
            let route = try #require(routes.route(forHost: "www.site\(index).example"))
            #expect(route.domain == "site\(index).example" && route.originHost == "198.51.\(index / 250).\(index % 250 + 1)")
            #expect(route.site.rule(scheme: "http", url: "site\(index).example/api/x")?.0.cacheLevel == "bypass")
        }
        #expect(routes.route(forHost: "site5000.example") == nil)
    }

    @Test("the first matching page rule overrides the domain's cache settings; dev mode bypasses everything")
    func siteSettings() throws {
        var snapshot = Self.snapshot(origin: "203.0.113.7", sslMode: "off", records: Self.records)
        snapshot.edge!.domains[0].pageRules = [
            PageRuleConfig(pattern: "example.com/api/*", cacheLevel: "bypass"),
            PageRuleConfig(pattern: "example.com/*", edgeTtl: 5, browserTtl: 7200),
        ]
        let site = try #require(EdgeRoutes(snapshot: snapshot).route(forHost: "example.com")).site
        let api = try #require(site.rule(scheme: "http", url: "example.com/api/x"))
        #expect(site.settings(rule: api.0).bypass == "page-rule")
        let other = try #require(site.rule(scheme: "http", url: "example.com/x"))
        let settings = site.settings(rule: other.0)
        #expect(settings.bypass == nil && settings.edgeTTL == 5 && settings.edgeTTLOverrides && settings.browserTTL == 7200)
        #expect(site.rule(scheme: "http", url: "www.example.com/x") == nil)
        snapshot.edge!.domains[0].devModeUntil = Date().addingTimeInterval(60)
        let dev = try #require(EdgeRoutes(snapshot: snapshot).route(forHost: "example.com")).site
        #expect(dev.settings(rule: nil).bypass == "dev-mode")
    }
}
