import DCDNCore
import Foundation
import Hummingbird

/// `/api/v1/plans`, `/api/v1/account/limits` and `PATCH /api/v1/admin/plans/{id}`.
struct PlansController {
    let plans: PlanService
    let planLimits: PlanLimits

    struct PlanList: ResponseCodable {
        var plans: [PlanResponse]
        var total: Int
    }
    struct LimitsResponse: ResponseCodable {
        var plan: PlanResponse
        var usage: [PlanLimits.Usage]
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("plans") { _, _ -> PlanList in
            let all = try await plans.plans()
            return PlanList(plans: all.map(PlanResponse.init), total: all.count)
        }
        api.get("account/limits") { _, context -> LimitsResponse in
            let (plan, usage) = try await planLimits.usage(of: try context.requireIdentity().user)
            return LimitsResponse(plan: PlanResponse(plan), usage: usage)
        }
        api.patch("admin/plans/:id") { request, context -> PlanResponse in
            _ = try context.requireAdmin()
            let change = try await request.decode(as: PlanService.PlanChange.self, context: context)
            return PlanResponse(try await plans.update(planID: context.parameters.get("id") ?? "", with: change))
        }
    }
}

/// Dashboard → Admin → Plans: names, prices and limits.
struct PlansDashboard {
    let plans: PlanService
    let renderer: DashboardRenderer

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
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
                _ = try await plans.update(
                    planID: context.parameters.get("id") ?? "",
                    with: .init(name: form["name"], monthlyPrice: price, byokRequired: form["byok_required"] == "on", limits: limits))
                return Response.redirect(to: "/dashboard/admin/plans?notice=plan_updated")
            } catch let error as APIError {
                return try await plansPage(identity, request: request, status: error.status, error: error.detail)
            }
        }
    }

    func plansPage(_ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, error: String? = nil) async throws -> Response
    {
        let rows = try await plans.plans().map { plan -> [String: Any] in
            [
                "id": plan.id!, "name": plan.name, "byok": plan.byokRequired,
                "price": plan.monthlyPriceMicro.map { "\(Credits(micro: $0))" } ?? "",
                "limits": PlanLimit.allCases.map {
                    ["key": $0.rawValue, "title": $0.title, "value": plan.limit($0).map(String.init) ?? ""]
                },
            ]
        }
        var values: [String: Any] = renderer.notice(request)
        values["plans"] = rows
        if let error { values["error"] = error }
        return renderer.page("admin_plans", title: "Plans", identity: identity, active: "admin-plans", status: status, values)
    }
}
