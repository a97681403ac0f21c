import DCDNCore
import Foundation

/// Admins' user management.
struct AdminArea: ProductArea {
    static var navigation: [NavigationItem] {
        [
            NavigationItem(
                key: "admin-users", label: "Users", href: "/dashboard/admin/users", section: "Admin", audience: .admins, order: 100)
        ]
    }
    static let notices: [String: String] = [
        "user_updated": "User updated."
    ]

    let admin: AdminService
    let plans: PlanService
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        admin = AdminService(store: coordinator.store)
        plans = PlanService(store: coordinator.store)
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        AdminController(admin: admin).addRoutes(to: routes.api)
        AdminDashboard(admin: admin, plans: plans, renderer: renderer).addRoutes(to: routes.dashboard)
    }
}
