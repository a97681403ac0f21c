import Foundation
import Hummingbird

/// Admin → Nodes: the network's machines, their health, and new node tokens.
struct NodesDashboard {
    let renderer: DashboardRenderer
    let nodes: NodeService
    let publicURL: String

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("admin/nodes") { request, context in
            try await page(try context.requireAdminPage(), request: request)
        }
        dashboard.post("admin/nodes") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            var draft = NodeService.Draft()
            draft.name = form["name"]
            draft.roles = ["edge", "dns", "mail"].filter { form["role_\($0)"] == "on" }
            draft.region = form["region"]
            draft.country = form["country"]
            draft.ipv4 = form["ipv4"].flatMap { $0.isEmpty ? nil : $0 }
            draft.ipv6 = form["ipv6"].flatMap { $0.isEmpty ? nil : $0 }
            draft.hostname = form["hostname"].flatMap { $0.isEmpty ? nil : $0 }
            draft.latitude = form["latitude"].flatMap(Double.init)
            draft.longitude = form["longitude"].flatMap(Double.init)
            do {
                let (node, token) = try await nodes.create(draft)
                return try await page(identity, request: request, values: ["newToken": token, "newNode": node.name])
            } catch let error as APIError {
                return try await page(identity, request: request, status: error.status, values: ["error": error.detail])
            }
        }
        dashboard.post("admin/nodes/:id/delete") { _, context in
            _ = try context.requireAdminPage()
            try await nodes.delete(try context.parameters.uuid("id", what: "Node"))
            return Response.redirect(to: "/dashboard/admin/nodes")
        }
    }

    func page(_ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, values extra: [String: Any] = [:]) async throws
        -> Response
    {
        let nodes = try await nodes.list().map { node -> [String: Any] in
            [
                "id": node.id!.uuidString.lowercased(), "name": node.name, "roles": node.roles.joined(separator: ", "),
                "region": node.region,
                "country": node.country, "addresses": [node.ipv4, node.ipv6].compactMap { $0 }.joined(separator: " "),
                "healthy": node.healthy,
                "lastSeen": node.lastHeartbeatAt.map { DashboardRenderer.format($0) } ?? "never",
                "version": node.configVersionSeen.map(String.init) ?? "—",
            ]
        }
        var values: [String: Any] = [
            "nodes": nodes, "hasNodes": !nodes.isEmpty, "healthyCount": nodes.filter { $0["healthy"] as? Bool == true }.count,
            "total": nodes.count,
        ]
        values["coordinatorURL"] = publicURL
        return renderer.page(
            "admin_nodes", title: "Nodes", identity: identity, active: "admin-nodes", status: status, values.merging(extra) { $1 })
    }
}
