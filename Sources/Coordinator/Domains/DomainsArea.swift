import DCDNCore
import FluentKit
import Foundation
import Logging
import NodeProtocol
import ServiceLifecycle

/// Domains and their DNS: records, zone files, delegation checks, high availability. In the node
/// feed it makes each domain's edge and zone entry, which later areas add to.
struct DomainsArea: ProductArea {
    static var migrations: [any AsyncMigration] { DomainMigrations.all }
    static var navigation: [NavigationItem] {
        [NavigationItem(key: "domains", label: "Domains", href: "/dashboard/domains", section: "Product", order: 20)]
    }
    static let notices: [String: String] = [
        "domain_added": "Domain added. Set the nameservers below at your registrar; it becomes active once DCDN sees them.",
        "domain_deleted": "Domain removed.",
        "settings_saved": "Settings saved. Nodes pick them up within seconds.",
        "certificate_requested": "Certificate requested: DCDN is asking the certificate authority now.",
        "record_added": "Record added.",
        "record_updated": "Record updated.",
        "record_deleted": "Record deleted.",
    ]

    static var limitCounters: [PlanLimit: PlanLimits.UsageCounter] {
        [.domains: { userID, db in Int64(try await Domain.query(on: db).filter(\.$owner.$id == userID).count()) }]
    }

    let domains: DomainService
    let certificates: CertificateService
    let settings: DCDNSettings
    let store: DatabaseStore
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        domains = coordinator.domains
        certificates = coordinator.certificates
        settings = coordinator.settings
        store = coordinator.store
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        DomainsController(domains: domains, settings: settings).addRoutes(to: routes.api)
        HighAvailabilityController(domains: domains, settings: settings, store: store).addRoutes(to: routes.api)
        DomainsDashboard(certificates: certificates, renderer: renderer, domains: domains, settings: settings)
            .addRoutes(to: routes.dashboard)
    }

    func jobs(claims: JobClaims, logger: Logger) -> [any Service] {
        [
            PeriodicJob(
                name: "delegation check", interval: .seconds(Int64(settings.delegationCheckSeconds)), claims: claims, logger: logger
            ) { [settings, store] round in
                try await DelegationCheck(logger: logger, settings: settings, store: store).run(round: round)
            }
        ]
    }

    /// Each domain's entry: for edges its origin, cache settings and proxied records; for
    /// nameservers its records, with the platform's ACME DNS-01 TXT records among them.
    func contribute(to feed: inout NodeFeedBuilder) async throws {
        guard !feed.domains.isEmpty else { return }
        var records: [UUID: [DomainRecord]] = [:]
        for record in try await feed.rows(DomainRecord.self, \.$domain).all() { records[record.$domain.id, default: []].append(record) }
        if feed.wantsEdge {
            for domain in feed.domains {
                let id = domain.id!
                feed.edge[id] = EdgeDomainConfig(
                    id: id, name: domain.name, origin: domain.origin, sslMode: domain.sslMode.rawValue,
                    cacheLevel: domain.cacheLevel.rawValue,
                    browserTtl: domain.browserTTL, edgeTtl: domain.edgeTTL, devModeUntil: domain.devModeUntil,
                    underAttack: domain.underAttack, records: NodeFeedBuilder.records((records[id] ?? []).filter(\.proxied)))
            }
        }
        if feed.wantsDNS {
            for challenge in try await feed.rows(DNSChallenge.self, \.$domain).filter(\.$expiresAt > Date()).all() {
                records[challenge.$domain.id, default: []].append(
                    DomainRecord(
                        domainID: challenge.$domain.id, name: challenge.name, type: "TXT", content: challenge.value,
                        ttl: DomainService.challengeTTL, priority: nil, proxied: false))
            }
            for domain in feed.domains {
                let id = domain.id!
                feed.zones[id] = ZoneConfig(
                    id: id, name: domain.name, serial: domain.serial, multiNodeRedundancy: domain.multiNodeRedundancy,
                    dnsFallback: domain.dnsFallback, records: NodeFeedBuilder.records(records[id] ?? []))
            }
        }
    }
}
