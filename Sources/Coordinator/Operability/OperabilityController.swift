import Foundation
import Hummingbird
import Logging
import Prometheus

/// `/healthz` (the process answers), `/readyz` (the database answers) and `/metrics`.
struct OperabilityController {
    let metrics: PrometheusCollectorRegistry
    let store: DatabaseStore

    struct Status: ResponseCodable {
        var status: String
        var database: String?
        var detail: String?
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in Status(status: "ok") }
        router.get("readyz") { _, context -> EditedResponse<Status> in
            do {
                try await store.ping()
                return EditedResponse(status: .ok, response: Status(status: "ready", database: store.engine.rawValue))
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
                return EditedResponse(
                    status: .serviceUnavailable,
                    response: Status(status: "unavailable", database: store.engine.rawValue, detail: "database unreachable"))
            }
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
    }
}
