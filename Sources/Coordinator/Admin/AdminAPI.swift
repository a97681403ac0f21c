import Foundation
import OpenAPIKit

/// Admins' user management.
extension OpenAPIDocument {
    static var adminOperations: [Operation] {
        [
            Operation(
                method: "get", path: "/api/v1/admin/users", summary: "List users (admin)", tag: "Admin", access: .admin,
                responses: [(200, "UserList")], query: page + [("q", .string, "Email contains")]),
            Operation(
                method: "patch", path: "/api/v1/admin/users/{id}", summary: "Change a user's role or plan (admin)", tag: "Admin",
                access: .admin, body: "UserChange", responses: [(200, "User"), (404, "Error"), (409, "Error"), (422, "Error")]),
        ]
    }
}

extension AdminArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.adminOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.adminSchemas }
}

extension OpenAPIDocument {
    static var adminSchemas: [String: JSONSchema] {
        [
            "UserList": list("users", of: "User"),
            "UserChange": object([
                "role": .string(allowedValues: User.Role.allCases.map(\.rawValue).map { AnyCodable($0) }), "plan_id": string,
            ]),
        ]
    }
}
