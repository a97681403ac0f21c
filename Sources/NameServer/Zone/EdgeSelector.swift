import DCDNCore
import DNSKit
import Foundation
import GeoIP
import NodeProtocol

/// Chooses the edge nodes a proxied name resolves to: healthy ones nearest the client.
public struct EdgeSelector: Sendable {
    let nodes: [NodeInfo]
    let geoIP: GeoIPDatabase?
    /// How many addresses an answer carries.
    public var answerCount = 2

    public init(nodes: [NodeInfo], geoIP: GeoIPDatabase?) {
        self.nodes = nodes.filter(\.isEdge)
        self.geoIP = geoIP
    }

    /// Addresses for an A (`ipv6` false) or AAAA answer, nearest first. Unhealthy nodes are used
    /// only when no node of that family is healthy (an answer beats none). With
    /// `distinctRegions`, at least two regions are represented when the network has them.
    public func addresses(for client: IPAddress?, ipv6: Bool, distinctRegions: Bool) -> [String] {
        let family = nodes.filter { (ipv6 ? $0.ipv6 : $0.ipv4) != nil }
        let healthy = family.filter(\.healthy)
        let candidates = healthy.isEmpty ? family : healthy
        let origin = client.flatMap { geoIP?.country(of: $0) }.flatMap { geoIP?.location(ofCountry: $0) }
        let ordered = candidates.sorted { a, b in
            if let origin {
                let da = location(of: a).map(origin.distance) ?? .infinity
                let db = location(of: b).map(origin.distance) ?? .infinity
                if da != db { return da < db }
            }
            return a.id.uuidString < b.id.uuidString
        }
        var chosen = Array(ordered.prefix(answerCount))
        if distinctRegions, Set(chosen.map(\.region)).count < 2,
            let other = ordered.first(where: { node in !chosen.contains { $0.region == node.region } })
        {
            if chosen.count >= answerCount { chosen.removeLast() }
            chosen.append(other)
        }
        return chosen.compactMap { ipv6 ? $0.ipv6 : $0.ipv4 }
    }

    /// Whether any edge node is healthy: one that is can serve every proxied name (over IPv4 or
    /// IPv6), so DNS fallback to origins applies only when none is.
    public var hasHealthyEdge: Bool { nodes.contains(where: \.healthy) }

    /// Whether the client's address changes the answer (then ECS scope is the source prefix).
    public var isGeographic: Bool { geoIP != nil && nodes.count > answerCount }

    func location(of node: NodeInfo) -> Coordinate? {
        if let latitude = node.latitude, let longitude = node.longitude { return Coordinate(latitude: latitude, longitude: longitude) }
        return geoIP?.location(ofCountry: node.country)
    }
}
