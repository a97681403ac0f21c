import DCDNCore
import Foundation
import Logging
import ServiceLifecycle

/// Node operators' machines: the node API they sync through, and admins' registry of them.
struct NodesArea: ProductArea {
    static var navigation: [NavigationItem] {
        [
            NavigationItem(
                key: "admin-nodes", label: "Nodes", href: "/dashboard/admin/nodes", section: "Admin", audience: .admins, order: 120)
        ]
    }

    let feed: ConfigFeed
    let nodes: NodeService
    let security: SecurityService
    let renderer: DashboardRenderer
    let publicURL: String

    init(_ coordinator: Coordinator) {
        feed = coordinator.feed
        nodes = coordinator.nodes
        security = coordinator.security
        renderer = coordinator.dashboard
        publicURL = coordinator.publicURL
    }

    func addRoutes(to routes: AreaRoutes) {
        NodeAPIController(feed: feed, nodes: nodes, security: security).addRoutes(to: routes.api)
        NodesAdminController(nodes: nodes).addRoutes(to: routes.api)
        NodesDashboard(renderer: renderer, nodes: nodes, publicURL: publicURL).addRoutes(to: routes.dashboard)
    }

    func jobs(claims: JobClaims, logger: Logger) -> [any Service] {
        [
            PeriodicJob(name: "node health", interval: .seconds(2), claims: claims, logger: logger) { [nodes] in
                try await nodes.expireSilentNodes(round: $0)
            },
            LongPollDrain(feed: feed),
        ]
    }
}
