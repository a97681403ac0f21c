import DCDNCore
import Foundation
import Logging
import ServiceLifecycle

/// Paying: plans by card (Stripe), token or credits, renewals, webhooks, the token mint ledger;
/// and the customer's money pages (Credits, Billing & plan, Affiliate Program, Reseller).
struct BillingArea: ProductArea {
    static var navigation: [NavigationItem] {
        [
            NavigationItem(key: "credits", label: "Credits", href: "/dashboard/credits", section: "Billing", order: 60),
            NavigationItem(key: "billing", label: "Billing & plan", href: "/dashboard/billing", section: "Billing", order: 70),
            NavigationItem(key: "affiliate", label: "Affiliate Program", href: "/dashboard/affiliate", section: "Billing", order: 80),
            NavigationItem(
                key: "reseller", label: "Reseller", href: "/dashboard/reseller", section: "Billing", audience: .resellers, order: 90),
        ]
    }
    static let notices: [String: String] = [
        "promo_redeemed": "Promo code redeemed: the credits are in your balance.",
        "payment_received": "Thank you: the payment is being confirmed; credits or your plan follow within moments.",
        "payment_canceled": "The payment was canceled; nothing was charged.",
        "plan_active": "Your plan is active now, paid with credits.",
        "plan_canceled": "Your plan will not renew; it lasts until the paid period ends.",
        "token_payment_pending":
            "Send the amount in DCDN tokens with the payment reference shown below; the plan activates when the payment is confirmed on chain.",
        "payout_requested": "Payout requested. The operator pays it by Stripe (USD).",
    ]

    let controller: BillingController
    let dashboard: BillingDashboard
    let billing: BillingService

    init(_ coordinator: Coordinator) {
        billing = coordinator.billing
        controller = BillingController(
            billing: coordinator.billing, idempotency: coordinator.idempotency, logger: coordinator.logger, settings: coordinator.settings,
            store: coordinator.store)
        dashboard = BillingDashboard(
            affiliates: coordinator.affiliates, billing: coordinator.billing, renderer: coordinator.dashboard, ledger: coordinator.ledger,
            promos: coordinator.promos, rateLimits: coordinator.rateLimits, resellers: coordinator.resellers,
            settings: coordinator.settings,
            store: coordinator.store,
            credits: CreditsController(
                billing: coordinator.billing, idempotency: coordinator.idempotency, ledger: coordinator.ledger, store: coordinator.store),
            billingAPI: controller, resellerAPI: ResellerController(resellers: coordinator.resellers, store: coordinator.store))
    }

    func addRoutes(to routes: AreaRoutes) {
        controller.addRoutes(to: routes.api)
        dashboard.addRoutes(to: routes.dashboard)
    }

    func jobs(claims: JobClaims, logger: Logger) -> [any Service] {
        [
            PeriodicJob(name: "plan renewals", interval: .seconds(60), claims: claims, logger: logger) { [billing] in
                try await billing.renewDue(round: $0)
            }
        ]
    }
}
