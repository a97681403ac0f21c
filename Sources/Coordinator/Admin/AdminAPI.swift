import Foundation

/// Admins' user management.
extension OpenAPIDocument {
    static var adminOperations: [Operation] {
        [
            Operation(
                method: "get", path: "/api/v1/admin/users", summary: "List users (admin)", tag: "Admin", access: .admin,
                responses: [(200, "UserList")], query: page + [("q", ["type": "string"], "Email contains")]),
            Operation(
                method: "patch", path: "/api/v1/admin/users/{id}", summary: "Change a user's role or plan (admin)", tag: "Admin",
                access: .admin, body: "UserChange", responses: [(200, "User"), (404, "Error"), (422, "Error")]),
        ]
    }
}

extension AdminArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.adminOperations }
}
