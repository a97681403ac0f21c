import DCDNCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Builds the coordinator's router: middleware from the outside in, then the dashboard's own
/// routes and every product area's.
public func buildRouter(_ coordinator: Coordinator) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let settings = coordinator.settings
    router.add(middleware: HTTPMetricsMiddleware(registry: coordinator.metrics))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: StrictCORSMiddleware(allowedOrigins: Set(settings.corsOrigins)))
    let store = coordinator.store
    router.add(middleware: ErrorMiddleware(renderer: coordinator.dashboard) { await store.answers() })
    router.add(middleware: ClientAddressMiddleware(trustedProxies: settings.trustedProxies))
    router.add(
        middleware: CSRFMiddleware(
            publicOrigin: CSRFMiddleware.origin(ofURL: coordinator.publicURL), corsOrigins: Set(settings.corsOrigins)))
    router.add(middleware: AuthenticationMiddleware(accounts: coordinator.accounts, rateLimits: coordinator.rateLimits))

    let routes = AreaRoutes(api: router.group("api/v1"), dashboard: router.group("dashboard"), root: router)
    DashboardController(renderer: coordinator.dashboard, planLimits: coordinator.planLimits).addRoutes(
        to: router, dashboard: routes.dashboard)
    for area in coordinator.areas.all { area.addRoutes(to: routes) }
    return router
}

/// The coordinator as a Hummingbird application on `host:port` (port 0 picks a free one;
/// `onServerRunning` learns which).
public func buildApplication(
    _ coordinator: Coordinator, host: String, port: Int,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(coordinator),
        configuration: .init(address: .hostname(host, port: port), serverName: nil),
        onServerRunning: onServerRunning,
        logger: coordinator.logger)
}
