import DCDNCore
import Foundation

/// The affiliate program (§12): referral links, commissions and payouts.
struct AffiliatesArea: ProductArea {
    let controller: AffiliateController

    init(_ coordinator: Coordinator) {
        controller = AffiliateController(affiliates: coordinator.affiliates, idempotency: coordinator.idempotency)
    }

    func addRoutes(to routes: AreaRoutes) { controller.addRoutes(to: routes.api) }
}
