import DCDNCore
import Foundation
import HTTPCache
import NodeProtocol

/// Where the edge sends a request for a host: built from the synced configuration, swapped whole.
public struct EdgeRoutes: Sendable {
    public struct Route: Sendable, Equatable {
        public var domain: String
        /// Origin host (IP or name) and port.
        public var originHost: String
        public var originPort: Int
        /// HTTPS to the origin (SSL mode full or strict).
        public var originTLS: Bool
        /// Verify the origin's certificate (strict).
        public var verifyOrigin: Bool
        /// The domain's cache settings and page rules, shared by its hosts.
        var site: Site
    }

    /// A domain's cache settings and compiled page rules.
    final class Site: Sendable, Equatable {
        struct Rule: Sendable {
            let pattern: PageRulePattern
            let config: PageRuleConfig
        }

        let level: CacheSettings.Level
        let edgeTTL: Int
        let browserTTL: Int
        let devModeUntil: Date?
        let rules: [Rule]
        /// ACME HTTP-01 answers by token.
        let acmeChallenges: [String: String]

        /// SSL mode off: visitors' HTTPS requests are sent to HTTP.
        let httpsOff: Bool
        /// The domain's firewall.
        let security: SecurityPolicy

        init(_ domain: EdgeDomainConfig) {
            security = SecurityPolicy(domain)
            acmeChallenges = domain.acmeChallenges ?? [:]
            httpsOff = domain.sslMode == "off"
            level = CacheSettings.Level(rawValue: domain.cacheLevel) ?? .standard
            edgeTTL = domain.edgeTtl
            browserTTL = domain.browserTtl
            devModeUntil = domain.devModeUntil
            rules = domain.pageRules.compactMap { rule in PageRulePattern(rule.pattern).map { Rule(pattern: $0, config: rule) } }
        }

        /// The first page rule matching `url` (`host/path?query`) and its captures.
        func rule(scheme: String, url: String) -> (PageRuleConfig, [String])? {
            for rule in rules {
                if let captures = rule.pattern.match(scheme: scheme, url: url) { return (rule.config, captures) }
            }
            return nil
        }

        /// The cache settings for a request, after the matching page rule's overrides.
        func settings(rule: PageRuleConfig?, now: Date = Date()) -> CacheSettings {
            var settings = CacheSettings(level: level, edgeTTL: edgeTTL, edgeTTLOverrides: false, browserTTL: browserTTL, bypass: nil)
            if let rule {
                if let level = rule.cacheLevel.flatMap(CacheSettings.Level.init) { settings.level = level }
                if let ttl = rule.edgeTtl {
                    settings.edgeTTL = ttl
                    settings.edgeTTLOverrides = true
                }
                if let ttl = rule.browserTtl {
                    settings.browserTTL = ttl
                    settings.browserTTLOverrides = true
                }
            }
            if let devModeUntil, devModeUntil > now {
                settings.bypass = "dev-mode"
            } else if settings.level == .bypass {
                settings.bypass = rule?.cacheLevel == "bypass" ? "page-rule" : "cache-level"
            }
            return settings
        }

        static func == (lhs: Site, rhs: Site) -> Bool { lhs === rhs }
    }

    public let version: Int64
    private let byHost: [String: Route]
    /// Sanctions and the challenge key, shared by every domain.
    let network: NetworkProtection

    public init(snapshot: NodeConfigSnapshot?) {
        version = snapshot?.version ?? 0
        network = NetworkProtection(snapshot?.edge?.protection)
        var routes: [String: Route] = [:]
        for domain in snapshot?.edge?.domains ?? [] {
            let origin = Origin(domain.origin)
            let defaultHost = origin?.host ?? domain.origin
            let explicitPort = origin?.port
            let tls = domain.sslMode == "full" || domain.sslMode == "strict"
            let port = explicitPort ?? (tls ? 443 : 80)
            let site = Site(domain)
            for record in domain.records where record.proxied && DNSRecordContent.proxiableTypes.contains(record.type) {
                let host = record.name == "@" ? domain.name : "\(record.name).\(domain.name)"
                // A proxied A/AAAA record's address is the origin; a CNAME to a name outside the zone
                // is an origin by name; a CNAME inside the zone uses the domain's origin.
                var originHost = defaultHost
                if record.type != "CNAME" {
                    originHost = record.content
                } else if record.content != domain.name, !record.content.hasSuffix("." + domain.name) {
                    originHost = record.content
                }
                // A host named by two zones belongs to the closest enclosing one, as in DNS.
                if let taken = routes[host], taken.domain.count > domain.name.count { continue }
                routes[host] = Route(
                    domain: domain.name, originHost: originHost, originPort: port, originTLS: tls, verifyOrigin: domain.sslMode == "strict",
                    site: site)
            }
        }
        byHost = routes
    }

    /// The route for a Host header (port and trailing dot ignored, case-insensitive); wildcard
    /// records match any single label.
    public func route(forHost header: String) -> Route? {
        route(forName: Self.hostName(header))
    }

    /// The route for a host name already normalised by `hostName`.
    func route(forName host: String) -> Route? {
        if let route = byHost[host] { return route }
        guard let dot = host.firstIndex(of: ".") else { return nil }
        return byHost["*" + host[dot...]]
    }

    /// A Host header's name: lower case, without port or final dot.
    static func hostName(_ header: String) -> String {
        // The usual Host header is already a lower-case name without a port or a trailing dot.
        if header.utf8.allSatisfy({ $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: "[") && !(65...90).contains($0) }),
            header.utf8.last != UInt8(ascii: ".")
        {
            return header
        }
        var host = header.lowercased()
        if host.hasPrefix("[") {
            host = String(host.prefix { $0 != "]" }) + "]"
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }
}
