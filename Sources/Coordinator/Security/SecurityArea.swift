import Crypto
import DCDNCore
import FluentKit
import Foundation
import NodeProtocol

/// The firewall and DDoS protection (§9): per-domain settings, rules and rate limits, attack
/// reports. In the node feed: each domain's firewall, and the network's sanctions list and
/// challenge key — for edges only.
struct SecurityArea: ProductArea {
    static var migrations: [any AsyncMigration] { SecurityMigrations.all }
    static var limitCounters: [PlanLimit: PlanLimits.UsageCounter] {
        // The busiest domain's count of `rules`.
        @Sendable func busiest(_ userID: UUID, _ db: any Database, _ rules: (DomainSecurity) -> Int) async throws -> Int64 {
            let owned = try await Domain.query(on: db).filter(\.$owner.$id == userID).all().compactMap(\.id)
            guard !owned.isEmpty else { return 0 }
            return Int64(try await DomainSecurity.query(on: db).filter(\.$domain.$id ~~ owned).all().map(rules).max() ?? 0)
        }
        return [
            .rateLimitsPerDomain: { userID, db in try await busiest(userID, db) { $0.rateLimits.count } },
            .firewallRulesPerDomain: { userID, db in try await busiest(userID, db) { $0.firewallRules.count } },
        ]
    }
    static var navigation: [NavigationItem] {
        [NavigationItem(key: "ddos", label: "DDoS Protection", href: "/dashboard/ddos", section: "Product", order: 40)]
    }
    static let notices: [String: String] = [
        "firewall_saved": "Firewall settings saved. Edge nodes enforce them within seconds.",
        "rate_limit_added": "Rate limit added.",
        "rate_limit_deleted": "Rate limit deleted.",
        "firewall_rule_added": "Firewall rule added.",
        "firewall_rule_deleted": "Firewall rule deleted.",
        "under_attack_on": "Under Attack Mode is on: every visitor gets a JavaScript challenge first.",
        "under_attack_off": "Under Attack Mode is off.",
    ]

    let security: SecurityService
    let domains: DomainService
    let settings: DCDNSettings
    let secrets: Secrets
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        security = coordinator.security
        domains = coordinator.domains
        settings = coordinator.settings
        secrets = coordinator.secrets
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        SecurityController(domains: domains, security: security, settings: settings).addRoutes(to: routes.api)
        SecurityDashboard(renderer: renderer, domains: domains, security: security, settings: settings).addRoutes(to: routes.dashboard)
    }

    func contribute(to feed: inout NodeFeedBuilder) async throws {
        guard feed.wantsEdge else { return }
        var configured: [UUID: SecurityConfig] = [:]
        if !feed.domains.isEmpty {
            for row in try await feed.rows(DomainSecurity.self, \.$domain).all() { configured[row.$domain.id] = row.config }
        }
        for id in feed.edge.keys { feed.edge[id]?.security = configured[id] ?? SecurityConfig() }
        feed.protection = ProtectionConfig(
            sanctionedCountries: settings.sanctionedCountries,
            clearanceKey: secrets.clearanceKey.withUnsafeBytes { Data($0) }.base64EncodedString(),
            challengeDifficulty: settings.challengeDifficulty)
    }
}
