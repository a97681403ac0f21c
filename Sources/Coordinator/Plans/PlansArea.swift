import DCDNCore
import FluentKit
import Foundation

/// Plans and their limits: what customers choose from, what admins edit.
struct PlansArea: ProductArea {
    static var migrations: [any AsyncMigration] { [PlanMigrations.SeedPerDomainLimits()] }
    static var navigation: [NavigationItem] {
        [
            NavigationItem(
                key: "admin-plans", label: "Plans", href: "/dashboard/admin/plans", section: "Admin", audience: .admins, order: 110)
        ]
    }
    static let notices: [String: String] = [
        "plan_updated": "Plan updated."
    ]

    let plans: PlanService
    let planLimits: PlanLimits
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        plans = PlanService(store: coordinator.store)
        planLimits = coordinator.planLimits
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        PlansController(plans: plans, planLimits: planLimits).addRoutes(to: routes.api)
        PlansDashboard(plans: plans, renderer: renderer).addRoutes(to: routes.dashboard)
    }
}
