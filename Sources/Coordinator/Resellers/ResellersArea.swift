import DCDNCore
import Foundation

/// Resellers: tiers, their promo codes, and their progress by paid sales.
struct ResellersArea: ProductArea {
    let controller: ResellerController

    init(_ coordinator: Coordinator) {
        controller = ResellerController(resellers: coordinator.resellers, store: coordinator.store)
    }

    func addRoutes(to routes: AreaRoutes) { controller.addRoutes(to: routes.api) }
}
