import DCDNCore
import FluentKit
import Foundation
import NodeProtocol

/// Caching: page rules, purges and traffic analytics. In the node feed: each domain's page rules,
/// and the purges edges run.
struct CDNArea: ProductArea {
    static var migrations: [any AsyncMigration] { CDNMigrations.all }
    static var limitCounters: [PlanLimit: PlanLimits.UsageCounter] {
        [
            .pageRulesPerDomain: { userID, db in
                let owned = try await Domain.query(on: db).filter(\.$owner.$id == userID).all().compactMap(\.id)
                guard !owned.isEmpty else { return 0 }
                let rules = try await PageRule.query(on: db).filter(\.$domain.$id ~~ owned).all()
                return Int64(Dictionary(grouping: rules, by: { $0.$domain.id }).values.map(\.count).max() ?? 0)
            }
        ]
    }
    static let notices: [String: String] = [
        "rule_added": "Page rule added. Nodes apply it within seconds.",
        "rule_deleted": "Page rule deleted.",
        "purged": "Purge sent to every edge node.",
    ]

    let cdn: CDNService
    let domains: DomainService
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        cdn = coordinator.cdn
        domains = coordinator.domains
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        CDNController(cdn: cdn, domains: domains).addRoutes(to: routes.api)
        CDNDashboard(cdn: cdn, renderer: renderer, domains: domains).addRoutes(to: routes.dashboard)
    }

    func contribute(to feed: inout NodeFeedBuilder) async throws {
        guard feed.wantsEdge else { return }
        if !feed.domains.isEmpty {
            for rule in try await feed.rows(PageRule.self, \.$domain).sort(\.$position).all() {
                feed.edge[rule.$domain.id]?.pageRules.append(CDNService.config(rule))
            }
        }
        let purges = PurgeRequest.query(on: feed.db)
        if let since = feed.since {
            purges.filter(\.$version > since)
        } else {
            purges.filter(\.$createdAt > Date().addingTimeInterval(-86_400))
        }
        feed.purges = try await purges.sort(\.$version).limit(PurgeCommand.retained).all().map {
            PurgeCommand(
                id: $0.version, domain: $0.domainName, everything: $0.everything, urls: $0.urls, prefixes: $0.prefixes, tags: $0.tags)
        }
    }
}
