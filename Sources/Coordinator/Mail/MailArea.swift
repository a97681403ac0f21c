import DCDNCore
import Foundation

/// Outbound mail; in dcdn dev, the outbox where mail is kept instead of sent.
struct MailArea: ProductArea {
    static var navigation: [NavigationItem] {
        [
            NavigationItem(
                key: "outbox", label: "Dev outbox", href: "/dashboard/outbox", section: "Development", audience: .development, order: 200)
        ]
    }

    let isDev: Bool
    let store: DatabaseStore
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        isDev = coordinator.settings.isDev
        store = coordinator.store
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        guard isDev else { return }
        DevOutboxController(store: store).addRoutes(to: routes.api)
        DevDashboard(renderer: renderer, store: store).addRoutes(to: routes.dashboard)
    }
}
