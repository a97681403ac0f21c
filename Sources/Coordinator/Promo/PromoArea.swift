import DCDNCore
import Foundation

/// Promo codes: created by admins and resellers, redeemed by customers.
struct PromoArea: ProductArea {
    let controller: PromoController

    init(_ coordinator: Coordinator) {
        controller = PromoController(idempotency: coordinator.idempotency, rateLimits: coordinator.rateLimits, promos: coordinator.promos)
    }

    func addRoutes(to routes: AreaRoutes) { controller.addRoutes(to: routes.api) }
}
