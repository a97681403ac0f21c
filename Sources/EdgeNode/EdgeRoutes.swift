import DCDNCore
import Foundation

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
    }

    public let version: Int64
    private let byHost: [String: Route]

    public init(snapshot: NodeConfigSnapshot?) {
        version = snapshot?.version ?? 0
        var routes: [String: Route] = [:]
        for domain in snapshot?.domains ?? [] {
            let origin = Origin(domain.origin)
            let defaultHost = origin?.host ?? domain.origin
            let explicitPort = origin?.port
            let tls = domain.sslMode == "full" || domain.sslMode == "strict"
            let port = explicitPort ?? (tls ? 443 : 80)
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
                routes[host] = Route(
                    domain: domain.name, originHost: originHost, originPort: port, originTLS: tls, verifyOrigin: domain.sslMode == "strict")
            }
        }
        byHost = routes
    }

    /// The route for a Host header (port and trailing dot ignored, case-insensitive); wildcard
    /// records match any single label.
    public func route(forHost header: String) -> Route? {
        var host = header.lowercased()
        if host.hasPrefix("[") {
            host = String(host.prefix { $0 != "]" }) + "]"
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host.hasSuffix(".") { host.removeLast() }
        if let route = byHost[host] { return route }
        guard let dot = host.firstIndex(of: ".") else { return nil }
        return byHost["*" + host[dot...]]
    }
}
