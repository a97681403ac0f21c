import Foundation

/// A role a node runs. A node receives the configuration of the roles an admin gave it, and no
/// other: certificates' private keys go to edges only, zones to nameservers.
public enum NodeRole: String, Codable, Sendable, CaseIterable, Comparable {
    case edge
    case dns
    case mail

    public static func < (lhs: NodeRole, rhs: NodeRole) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What `GET /api/v1/node-api/config` returns, at a configuration `version`: the nodes of the
/// network, and one section per role the asking node runs (`edge`, `dns`); a section of a role
/// the node does not run is absent, never empty-but-present.
///
/// With `since`, `full` is false: each section holds only the domains changed after `since`,
/// `removedDomains` those deleted, and `edge.purges` the purges after `since`; nodes are always
/// complete (they are few and their health changes often).
public struct NodeConfigSnapshot: Codable, Sendable, Equatable {
    public var version: Int64
    public var full: Bool
    public var nodes: [NodeInfo]
    /// Domains deleted after `since` (a delta only), for every section.
    public var removedDomains: [UUID]
    /// Present for edge nodes.
    public var edge: EdgeConfig?
    /// Present for nameservers.
    public var dns: DNSConfig?

    public init(
        version: Int64, full: Bool, nodes: [NodeInfo] = [], removedDomains: [UUID] = [], edge: EdgeConfig? = nil, dns: DNSConfig? = nil
    ) {
        self.version = version
        self.full = full
        self.nodes = nodes
        self.removedDomains = removedDomains
        self.edge = edge
        self.dns = dns
    }

    /// The roles whose sections this snapshot carries.
    public var roles: Set<NodeRole> {
        var roles: Set<NodeRole> = []
        if edge != nil { roles.insert(.edge) }
        if dns != nil { roles.insert(.dns) }
        return roles
    }

    /// Applies a delta to this full snapshot. A section the delta lacks is dropped: the node no
    /// longer runs that role.
    public func applying(_ delta: NodeConfigSnapshot) -> NodeConfigSnapshot {
        if delta.full { return delta }
        let removed = Set(delta.removedDomains)
        var result = delta
        result.full = true
        result.removedDomains = []
        if let changed = delta.edge {
            result.edge = (edge ?? EdgeConfig()).applying(changed, removed: removed)
        }
        if let changed = delta.dns {
            result.dns = (dns ?? DNSConfig()).applying(changed, removed: removed)
        }
        return result
    }
}

/// Merges domains changed in a delta into the full list, by ID, sorted by name.
func merged<Item>(_ current: [Item], _ changed: [Item], removed: Set<UUID>, id: (Item) -> UUID, name: (Item) -> String) -> [Item] {
    var byID = Dictionary(current.map { (id($0), $0) }, uniquingKeysWith: { _, last in last })
    for key in removed { byID.removeValue(forKey: key) }
    for item in changed { byID[id(item)] = item }
    return byID.values.sorted { name($0) < name($1) }
}
