import DCDNCore
import Foundation
import Hummingbird

/// `/api/v1/admin/users`: admins list users and change their role and plan.
struct AdminController {
    let admin: AdminService

    struct UserList: ResponseCodable {
        var users: [UserResponse]
        var total: Int
    }
    struct UserChange: Decodable {
        var role: String?
        var planId: String?
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let adminGroup = api.group("admin")
        adminGroup.get("users") { request, context -> UserList in
            _ = try context.requireAdmin()
            let (users, total) = try await admin.users(page: try Page(request), search: request.uri.queryParameters["q"].map(String.init))
            return UserList(users: users.map(UserResponse.init), total: total)
        }
        adminGroup.patch("users/:id") { request, context -> UserResponse in
            let identity = try context.requireAdmin()
            let change = try await request.decode(as: UserChange.self, context: context)
            return UserResponse(
                try await admin.update(
                    userID: try context.parameters.uuid("id", what: "User"), role: change.role, planID: change.planId, by: identity))
        }
    }
}

/// Dashboard → Admin → Users.
struct AdminDashboard {
    let admin: AdminService
    let plans: PlanService
    let renderer: DashboardRenderer

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("admin/users") { request, context in
            try await usersPage(try context.requireAdminPage(), request: request)
        }
        dashboard.post("admin/users/:id") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            do {
                _ = try await admin.update(
                    userID: try context.parameters.uuid("id", what: "User"), role: form["role"], planID: form["plan_id"], by: identity)
                return Response.redirect(to: "/dashboard/admin/users?notice=user_updated")
            } catch let error as APIError {
                return try await usersPage(identity, request: request, status: error.status, error: error.detail)
            }
        }
    }

    func usersPage(_ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, error: String? = nil) async throws -> Response
    {
        let page = try Page(request)
        let search = request.uri.queryParameters["q"].map(String.init)
        let (users, total) = try await admin.users(page: page, search: search)
        let allPlans = try await plans.plans()
        let rows = users.map { user -> [String: Any] in
            [
                "id": user.id!.uuidString, "email": user.email, "verified": user.isEmailVerified,
                "created": DashboardRenderer.format(user.createdAt), "isSelf": user.id == identity.userID,
                "roles": User.Role.allCases.map { ["value": $0.rawValue, "selected": $0 == user.role] },
                "plans": allPlans.map { ["value": $0.id!, "label": $0.name, "selected": $0.id == user.planID] },
            ]
        }
        var values: [String: Any] = renderer.notice(request)
        values["users"] = rows
        values["total"] = total
        values["search"] = search ?? ""
        if page.offset + page.limit < total { values["nextOffset"] = String(page.offset + page.limit) }
        if page.offset > 0 { values["previousOffset"] = String(max(0, page.offset - page.limit)) }
        if let error { values["error"] = error }
        return renderer.page("admin_users", title: "Users", identity: identity, active: "admin-users", status: status, values)
    }
}
