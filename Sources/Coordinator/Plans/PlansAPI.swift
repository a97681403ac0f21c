import DCDNCore
import Foundation
import OpenAPIKit

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
    static var schemas: [String: JSONSchema] { OpenAPIDocument.plansSchemas }
}

extension OpenAPIDocument {
    static var plansSchemas: [String: JSONSchema] {
        var limitProperties = OrderedDictionary<String, JSONSchema>()
        for limit in PlanLimit.allCases {
            limitProperties[limit.rawValue] = .integer(required: false, nullable: true, description: limit.title)
        }
        let limits = JSONSchema.object(properties: limitProperties)
        return [
            "Plan": object(
                [
                    "id": string, "name": string,
                    "monthly_price": .number(nullable: true, description: "Credits per month; null is custom"),
                    "byok_required": boolean, "limits": limits,
                ], required: ["id", "name", "limits"]),
            "PlanList": list("plans", of: "Plan"),
            "PlanChange": object([
                "name": string, "monthly_price": .number(nullable: true), "byok_required": boolean, "limits": limits,
            ]),
            "LimitsResponse": object(
                [
                    "plan": ref("Plan"),
                    "usage": .array(
                        items: object([
                            "limit": string, "title": string, "maximum": .integer(nullable: true),
                            "used": .integer(nullable: true),
                        ])),
                ],
                required: ["plan", "usage"]),
        ]
    }
}
