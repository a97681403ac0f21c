import DCDNCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Builds the coordinator's router: middleware from the outside in, then every area's routes.
public func buildRouter(_ coordinator: Coordinator) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let settings = coordinator.settings
    router.add(middleware: HTTPMetricsMiddleware(registry: coordinator.metrics))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: StrictCORSMiddleware(allowedOrigins: Set(settings.corsOrigins)))
    router.add(middleware: ErrorMiddleware(dashboard: coordinator.dashboard))
    router.add(middleware: ClientAddressMiddleware(trustedProxies: settings.trustedProxies))
    router.add(
        middleware: CSRFMiddleware(
            publicOrigin: CSRFMiddleware.origin(ofURL: coordinator.publicURL), corsOrigins: Set(settings.corsOrigins)))
    router.add(middleware: AuthenticationMiddleware(coordinator: coordinator))

    OperabilityController(coordinator: coordinator).addRoutes(to: router)
    ImagesController(coordinator: coordinator).addRoutes(to: router)
    coordinator.devCA?.addRoutes(to: router)
    let api = router.group("api/v1")
    let openAPI = (try? OpenAPIDocument.json(isDev: settings.isDev, publicURL: coordinator.publicURL)) ?? Data()
    api.get("openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
    }
    AuthController(coordinator: coordinator).addRoutes(to: api)
    OIDCController(coordinator: coordinator).addRoutes(to: api)
    PlansAndAdminController(coordinator: coordinator).addRoutes(to: api)
    DomainsController(coordinator: coordinator).addRoutes(to: api)
    CDNController(coordinator: coordinator).addRoutes(to: api)
    CertificatesController(coordinator: coordinator).addRoutes(to: api)
    SecurityController(coordinator: coordinator).addRoutes(to: api)
    CreditsController(coordinator: coordinator).addRoutes(to: api)
    PromoController(coordinator: coordinator).addRoutes(to: api)
    ResellerController(coordinator: coordinator).addRoutes(to: api)
    AffiliateController(coordinator: coordinator).addRoutes(to: api)
    BillingController(coordinator: coordinator).addRoutes(to: api)
    NodeAPIController(coordinator: coordinator).addRoutes(to: api)
    NodesAdminController(coordinator: coordinator).addRoutes(to: api)
    if settings.isDev { DevOutboxController(coordinator: coordinator).addRoutes(to: api) }
    DashboardController(coordinator: coordinator).addRoutes(to: router)
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
