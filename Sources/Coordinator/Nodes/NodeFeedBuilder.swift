import DCDNCore
import FluentKit
import Foundation
import NodeProtocol

/// One node-feed snapshot while the product areas fill it in (`ProductArea.contribute(to:)`), in
/// the order of `ProductAreas.all`: Domains makes each domain's edge and zone entry, later areas
/// add their fields to those entries and their role-wide settings.
struct NodeFeedBuilder {
    /// The roles whose sections are wanted; an area skips the work of the others.
    let roles: Set<NodeRole>
    /// A delta's base version; nil for a full snapshot.
    let since: Int64?
    let db: any Database
    /// The domains changed after `since` (every domain in a full snapshot), by name.
    let domains: [Domain]
    /// The edge section's entries by domain ID.
    var edge: [UUID: EdgeDomainConfig] = [:]
    /// The nameserver section's entries by domain ID.
    var zones: [UUID: ZoneConfig] = [:]
    /// Cache purges: in a delta those after `since`, in a full snapshot those of the last day.
    var purges: [PurgeCommand] = []
    var protection: ProtectionConfig?

    var wantsEdge: Bool { roles.contains(.edge) }
    var wantsDNS: Bool { roles.contains(.dns) }

    /// Rows of `Model` that belong to this snapshot's domains: filtered by domain ID in a delta,
    /// unfiltered in a full snapshot (an `IN` list of every ID could pass the database's limit on
    /// bound parameters).
    func rows<Model: FluentKit.Model>(_ type: Model.Type, _ domain: KeyPath<Model, ParentProperty<Model, Domain>>) -> QueryBuilder<Model> {
        let query = Model.query(on: db)
        guard since != nil else { return query }
        return query.filter(domain.appending(path: \.$id) ~~ domains.compactMap(\.id))
    }

    /// Records sorted as nodes expect them, in the node API's form.
    static func records(_ records: [DomainRecord]) -> [DNSRecordConfig] {
        records.sorted { ($0.name, $0.type, $0.content) < ($1.name, $1.type, $1.content) }.map {
            DNSRecordConfig(name: $0.name, type: $0.type, content: $0.content, ttl: $0.ttl, priority: $0.priority, proxied: $0.proxied)
        }
    }
}
