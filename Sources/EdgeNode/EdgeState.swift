import DCDNCore
import Foundation
import NodeProtocol
import Synchronization

/// The routes in force and the traffic counters of the current report window.
public final class EdgeState: Sendable {
    private let current = Mutex(EdgeRoutes(snapshot: nil))
    private let counters = Mutex<[String: NodeReport.DomainCounters]>([:])
    /// Each configured domain's ID by name, to notice one deleted and added again.
    private let domainIDs = Mutex<[String: UUID]>([:])

    public init() {}

    public var routes: EdgeRoutes { current.withLock { $0 } }

    /// Puts the snapshot's routes in force. Returns the names of domains that left the
    /// configuration or came back under another ID (deleted and added again, perhaps by another
    /// account): what the cache holds for them is no longer theirs to serve.
    @discardableResult
    public func apply(_ snapshot: NodeConfigSnapshot) -> [String] {
        let routes = EdgeRoutes(snapshot: snapshot)
        let ids = Dictionary((snapshot.edge?.domains ?? []).map { ($0.name, $0.id) }) { first, _ in first }
        current.withLock { $0 = routes }
        return domainIDs.withLock { known in
            defer { known = ids }
            return known.compactMap { name, id in ids[name] == id ? nil : name }
        }
    }

    func count(_ domain: String, status: Int, bytes: Int, hit: Bool) {
        func add(to entry: inout NodeReport.DomainCounters) {
            entry.requests += 1
            entry.bytes += Int64(bytes)
            if hit { entry.cacheHits += 1 }
            switch status / 100 {
            case 1, 2: entry.status2xx += 1
            case 3: entry.status3xx += 1
            case 4: entry.status4xx += 1
            default: entry.status5xx += 1
            }
        }
        // Updated in place: one hash lookup on every request.
        counters.withLock { add(to: &$0[domain, default: NodeReport.DomainCounters(domain: domain)]) }
    }

    /// A request blocked or challenged, by the mitigation that did it.
    func countMitigation(_ domain: String, _ mitigation: Mitigation, challenged: Bool) {
        counters.withLock { counters in
            var entry = counters[domain, default: NodeReport.DomainCounters(domain: domain)]
            if challenged { entry.challenged += 1 } else { entry.blocked += 1 }
            entry.mitigations = entry.mitigations ?? [:]
            entry.mitigations![mitigation.rawValue, default: 0] += 1
            counters[domain] = entry
        }
    }

    /// The counters since the last call.
    public func drainCounters() -> [NodeReport.DomainCounters] {
        counters.withLock { counters in
            defer { counters = [:] }
            return Array(counters.values)
        }
    }
}
