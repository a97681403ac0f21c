import DCDNCore
import Foundation
import Hummingbird
import Prometheus

/// Health, readiness, Prometheus metrics and the OpenAPI document.
struct OperabilityArea: ProductArea {
    let metrics: PrometheusCollectorRegistry
    let store: DatabaseStore
    let isDev: Bool
    let publicURL: String

    init(_ coordinator: Coordinator) {
        metrics = coordinator.metrics
        store = coordinator.store
        isDev = coordinator.settings.isDev
        publicURL = coordinator.publicURL
    }

    func addRoutes(to routes: AreaRoutes) {
        OperabilityController(metrics: metrics, store: store).addRoutes(to: routes.root)
        let openAPI = (try? OpenAPIDocument.json(isDev: isDev, publicURL: publicURL)) ?? Data()
        routes.api.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
    }
}
