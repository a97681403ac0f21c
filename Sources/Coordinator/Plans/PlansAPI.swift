import Foundation

/// Plans, a user's usage of their plan, and admins' plan edits.
extension OpenAPIDocument {
    static var plansOperations: [Operation] {
        [
            Operation(
                method: "get", path: "/api/v1/plans", summary: "Plans and their limits (null = unlimited)", tag: "Plans",
                access: .publicRoute, responses: [(200, "PlanList")]),
            Operation(
                method: "get", path: "/api/v1/account/limits", summary: "Your plan, its limits and your usage", tag: "Plans", access: .user,
                responses: [(200, "LimitsResponse")]),
            Operation(
                method: "patch", path: "/api/v1/admin/plans/{id}", summary: "Edit a plan's name, price and limits (admin)", tag: "Admin",
                access: .admin, body: "PlanChange", responses: [(200, "Plan"), (404, "Error"), (422, "Error")]),
        ]
    }
}

extension PlansArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.plansOperations }
}
