import DCDNCore
import Foundation
import Hummingbird

/// `/api/v1/plans`, `/api/v1/account/limits` and the admin API.
struct PlansAndAdminController {
    let coordinator: Coordinator
    var admin: AdminService { AdminService(store: coordinator.store) }

    struct PlanList: ResponseEncodable {
        var plans: [PlanResponse]
        var total: Int
    }
    struct UserList: ResponseEncodable {
        var users: [UserResponse]
        var total: Int
    }
    struct UserChange: Decodable {
        var role: String?
        var planId: String?
    }
    struct LimitsResponse: ResponseEncodable {
        var plan: PlanResponse
        var usage: [PlanLimits.Usage]
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("plans") { _, _ -> PlanList in
            let plans = try await admin.plans()
            return PlanList(plans: plans.map(PlanResponse.init), total: plans.count)
        }
        api.get("account/limits") { _, context -> LimitsResponse in
            let (plan, usage) = try await coordinator.planLimits.usage(of: try context.requireIdentity().user)
            return LimitsResponse(plan: PlanResponse(plan), usage: usage)
        }
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
        adminGroup.patch("plans/:id") { request, context -> PlanResponse in
            _ = try context.requireAdmin()
            let change = try await request.decode(as: AdminService.PlanChange.self, context: context)
            return PlanResponse(try await admin.update(planID: context.parameters.get("id") ?? "", with: change))
        }
    }
}

/// The admin pages of the dashboard.
struct AdminDashboard {
    let coordinator: Coordinator
    var admin: AdminService { AdminService(store: coordinator.store) }

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
        dashboard.get("admin/plans") { request, context in
            try await plansPage(try context.requireAdminPage(), request: request)
        }
        dashboard.post("admin/plans/:id") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            do {
                var limits: [String: Int64?] = [:]
                for limit in PlanLimit.allCases {
                    let text = form.string("limit_\(limit.rawValue)").trimmingCharacters(in: .whitespaces)
                    if text.isEmpty {
                        limits[limit.rawValue] = .some(nil)
                    } else {
                        guard let value = Int64(text) else {
                            throw APIError.validation("limits.\(limit.rawValue)", "must be a whole number, or empty for unlimited")
                        }
                        limits[limit.rawValue] = value
                    }
                }
                let priceText = form.string("monthly_price").trimmingCharacters(in: .whitespaces)
                let price: Credits?? =
                    priceText.isEmpty
                    ? .some(nil)
                    : .some(
                        try Decimal(string: priceText).flatMap(Credits.init(decimal:))
                            ?? { throw APIError.validation("monthly_price", "must be a number of credits") }())
                _ = try await admin.update(
                    planID: context.parameters.get("id") ?? "",
                    with: .init(name: form["name"], monthlyPrice: price, byokRequired: form["byok_required"] == "on", limits: limits))
                return Response.redirect(to: "/dashboard/admin/plans?notice=plan_updated")
            } catch let error as APIError {
                return try await plansPage(identity, request: request, status: error.status, error: error.detail)
            }
        }
    }

    func usersPage(_ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, error: String? = nil) async throws -> Response
    {
        let page = try Page(request)
        let search = request.uri.queryParameters["q"].map(String.init)
        let (users, total) = try await admin.users(page: page, search: search)
        let plans = try await admin.plans()
        let rows = users.map { user -> [String: Any] in
            [
                "id": user.id!.uuidString, "email": user.email, "verified": user.isEmailVerified,
                "created": DashboardController.format(user.createdAt), "isSelf": user.id == identity.userID,
                "roles": User.Role.allCases.map { ["value": $0.rawValue, "selected": $0 == user.role] },
                "plans": plans.map { ["value": $0.id!, "label": $0.name, "selected": $0.id == user.planID] },
            ]
        }
        var values: [String: Any] = DashboardController(coordinator: coordinator).notice(request)
        values["users"] = rows
        values["total"] = total
        values["search"] = search ?? ""
        if page.offset + page.limit < total { values["nextOffset"] = String(page.offset + page.limit) }
        if page.offset > 0 { values["previousOffset"] = String(max(0, page.offset - page.limit)) }
        if let error { values["error"] = error }
        return coordinator.dashboard.page("admin_users", title: "Users", identity: identity, active: "admin-users", status: status, values)
    }

    func plansPage(_ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, error: String? = nil) async throws -> Response
    {
        let plans = try await admin.plans().map { plan -> [String: Any] in
            [
                "id": plan.id!, "name": plan.name, "byok": plan.byokRequired,
                "price": plan.monthlyPriceMicro.map { "\(Credits(micro: $0))" } ?? "",
                "limits": PlanLimit.allCases.map {
                    ["key": $0.rawValue, "title": $0.title, "value": plan.limit($0).map(String.init) ?? ""]
                },
            ]
        }
        var values: [String: Any] = DashboardController(coordinator: coordinator).notice(request)
        values["plans"] = plans
        if let error { values["error"] = error }
        return coordinator.dashboard.page("admin_plans", title: "Plans", identity: identity, active: "admin-plans", status: status, values)
    }
}

extension AppRequestContext {
    /// For dashboard pages: signed out goes to sign-in, a non-admin gets 403.
    func requireAdminPage() throws -> Identity {
        guard let identity else { throw HTTPError(.seeOther, headers: [.location: "/dashboard/login"]) }
        guard identity.user.role == .admin else { throw APIError.forbidden }
        return identity
    }
}
