import Foundation
import Hummingbird

/// `/healthz` (the process answers), `/readyz` (the database answers) and `/metrics`.
struct OperabilityController {
    let coordinator: Coordinator

    struct Status: ResponseEncodable {
        var status: String
        var database: String?
        var detail: String?
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in Status(status: "ok") }
        router.get("readyz") { _, context -> EditedResponse<Status> in
            do {
                try await coordinator.store.ping()
                return EditedResponse(status: .ok, response: Status(status: "ready", database: coordinator.store.engine.rawValue))
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
                return EditedResponse(
                    status: .serviceUnavailable,
                    response: Status(status: "unavailable", database: coordinator.store.engine.rawValue, detail: "database unreachable"))
            }
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: coordinator.metrics.emitToBuffer())))
        }
    }
}
