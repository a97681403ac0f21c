import DCDNCore
import FluentKit
import Foundation
import Logging
import ServiceLifecycle

/// The credit ledger: balances, grants, spends, expiry; admins' grants and the promo-code and
/// reseller admin pages. Its migrations hold the whole money layer's tables.
struct CreditsArea: ProductArea {
    static var migrations: [any AsyncMigration] { MoneyMigrations.all }
    static var navigation: [NavigationItem] {
        [
            NavigationItem(
                key: "admin-credits", label: "Credits & promo codes", href: "/dashboard/admin/credits", section: "Admin", audience: .admins,
                order: 130),
            NavigationItem(
                key: "admin-resellers", label: "Resellers & tiers", href: "/dashboard/admin/resellers", section: "Admin", audience: .admins,
                order: 140),
        ]
    }
    static let notices: [String: String] = [
        "promo_created": "Promo code created.",
        "promo_toggled": "Promo code updated.",
        "credits_granted": "Credits granted.",
        "credits_revoked": "Credits revoked.",
        "reseller_created": "Reseller created.",
        "reseller_updated": "Reseller's tier changed.",
        "tier_updated": "Tier limits saved.",
        "payout_paid": "Payout marked paid.",
    ]

    let credits: CreditsController
    let ledger: CreditLedger
    let affiliates: AffiliateService
    let promos: PromoService
    let resellers: ResellerService
    let store: DatabaseStore
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        credits = CreditsController(
            billing: coordinator.billing, idempotency: coordinator.idempotency, ledger: coordinator.ledger, store: coordinator.store)
        ledger = coordinator.ledger
        affiliates = coordinator.affiliates
        promos = coordinator.promos
        resellers = coordinator.resellers
        store = coordinator.store
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        credits.addRoutes(to: routes.api)
        CreditsAdminDashboard(
            affiliates: affiliates, renderer: renderer, ledger: ledger, promos: promos, resellers: resellers, store: store, credits: credits
        ).addRoutes(to: routes.dashboard)
    }

    func jobs(claims: JobClaims, logger: Logger) -> [any Service] {
        [
            PeriodicJob(name: "credit expiry", interval: .seconds(60), claims: claims, logger: logger) { [ledger] in
                try await ledger.expireDue(round: $0)
            }
        ]
    }
}
