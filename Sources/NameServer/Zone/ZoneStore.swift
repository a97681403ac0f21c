import DCDNCore
import DNSKit
import GeoIP
import NodeProtocol
import Synchronization

/// Everything a query is answered from, swapped whole when configuration arrives, so a query
/// always sees one consistent version and applying thousands of zones never pauses answering.
public struct ZoneSet: Sendable {
    public let version: Int64
    let zones: [String: Zone]
    let selector: EdgeSelector

    public init(snapshot: NodeConfigSnapshot?, geoIP: GeoIPDatabase?) {
        version = snapshot?.version ?? 0
        var zones: [String: Zone] = [:]
        let dns = snapshot?.dns ?? DNSConfig()
        for domain in dns.zones {
            let zone = Zone(
                domain: domain, nameservers: dns.nameservers, fallbackNameservers: dns.fallbackNameservers ?? [], hostmaster: dns.hostmaster
            )
            zones[zone.apex.key] = zone
        }
        self.zones = zones
        selector = EdgeSelector(nodes: snapshot?.nodes ?? [], geoIP: geoIP)
    }

    /// The zone that is the closest enclosing one for `name`.
    func zone(for name: DNSName) -> Zone? {
        var labels = name.labels[...]
        while true {
            let key = DNSName(labels: Array(labels)).key
            if let zone = zones[key] { return zone }
            if labels.isEmpty { return nil }
            labels = labels.dropFirst()
        }
    }

    public func zone(named name: String) -> Zone? { zones[name.lowercased()] }
}

public final class ZoneStore: Sendable {
    private let current: Mutex<ZoneSet>
    let geoIP: GeoIPDatabase?

    public init(geoIP: GeoIPDatabase?) {
        self.geoIP = geoIP
        current = Mutex(ZoneSet(snapshot: nil, geoIP: geoIP))
    }

    public var zones: ZoneSet { current.withLock { $0 } }

    /// Builds the new zones outside the lock, then swaps them in; returns the zones whose serial
    /// changed or that are new (for NOTIFY).
    @discardableResult
    public func apply(_ snapshot: NodeConfigSnapshot) -> [Zone] {
        let next = ZoneSet(snapshot: snapshot, geoIP: geoIP)
        let previous = current.withLock { old in
            defer { old = next }
            return old
        }
        return next.zones.values.filter { previous.zones[$0.apex.key]?.serial != $0.serial }
    }
}
