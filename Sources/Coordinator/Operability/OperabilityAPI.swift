import Foundation
import OpenAPIKit

/// Health, readiness, metrics and this document.
extension OpenAPIDocument {
    static var operabilityOperations: [Operation] {
        [
            Operation(
                method: "get", path: "/healthz", summary: "Liveness: the process answers", tag: "Operations", access: .publicRoute,
                responses: [(200, "Status")]),
            Operation(
                method: "get", path: "/readyz", summary: "Readiness: the database answers", tag: "Operations", access: .publicRoute,
                responses: [(200, "Status"), (503, "Status")]),
            Operation(
                method: "get", path: "/metrics", summary: "Prometheus metrics (text exposition format)", tag: "Operations",
                access: .publicRoute, responses: [(200, "text/plain")]),
            Operation(
                method: "get", path: "/api/v1/openapi.json", summary: "This document", tag: "Operations", access: .publicRoute,
                responses: [(200, "application/json")]),
        ]
    }
}

extension OperabilityArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.operabilityOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.operabilitySchemas }
}

extension OpenAPIDocument {
    static var operabilitySchemas: [String: JSONSchema] {
        [
            "Status": object(["status": string, "database": string, "detail": string], required: ["status"]),
            "Detail": object(["detail": string], required: ["detail"]),
        ]
    }
}
