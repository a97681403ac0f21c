import DCDNCore
import Foundation
import Hummingbird

/// The dashboard's own routes: `/` (which takes an affiliate's `?ref=` to sign-up), the assets,
/// and the overview at `/dashboard`. Every other page belongs to its product area.
struct DashboardController {
    let renderer: DashboardRenderer
    let planLimits: PlanLimits

    /// The sidebar's first entry: this overview.
    static let overviewEntry = NavigationItem(key: "overview", label: "Overview", href: "/dashboard", section: "Product", order: 0)

    func addRoutes(to router: Router<AppRequestContext>, dashboard: RouterGroup<AppRequestContext>) {
        router.get("/") { request, _ in
            // An affiliate's link (/?ref=CODE) leads to sign-up with the code filled in.
            if let ref = request.uri.queryParameters["ref"].map({ PromoService.sanitize(String($0)) }), !ref.isEmpty {
                return Response.redirect(to: "/dashboard/register?ref=\(ref.prefix(64))")
            }
            return Response.redirect(to: "/dashboard")
        }
        router.get("assets/:name") { _, context in
            guard let response = renderer.asset(context.parameters.get("name") ?? "") else { throw HTTPError(.notFound) }
            return response
        }
        dashboard.get { request, context in
            guard let identity = context.identity else { return Response.redirect(to: "/dashboard/login") }
            return try await overview(identity, request: request)
        }
    }

    func overview(_ identity: Identity, request: Request) async throws -> Response {
        let (plan, usage) = try await planLimits.usage(of: identity.user)
        return renderer.page(
            "overview", title: "Overview", identity: identity, active: "overview",
            renderer.notice(request).merging([
                "planName": plan.name, "verified": identity.user.isEmailVerified,
                "limits": DashboardRenderer.usageRows(usage),
            ]) { $1 })
    }
}
