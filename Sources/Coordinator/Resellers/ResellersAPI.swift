import Foundation
import OpenAPIKit

/// Resellers and their tiers.
extension OpenAPIDocument {
    static var resellersOperations: [Operation] {
        [
            Operation(
                method: "post", path: "/api/v1/reseller/create", summary: "Make a user a reseller", tag: "Resellers", access: .admin,
                body: "ResellerDraft", responses: [(201, "Reseller"), (409, "Error"), (422, "Error")]),
            Operation(
                method: "post", path: "/api/v1/reseller/{id}/tier", summary: "Change a reseller's tier", tag: "Resellers", access: .admin,
                body: "ResellerTierChange", responses: [(200, "Reseller"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/reseller/list", summary: "Resellers and the tier table", tag: "Resellers", access: .admin,
                responses: [(200, "ResellerList")], query: page),
            Operation(
                method: "post", path: "/api/v1/reseller/tier/update", summary: "Update a tier's limits", tag: "Resellers", access: .admin,
                body: "ResellerTierLimits", responses: [(200, "ResellerTier"), (422, "Error")],
                query: [("tier_name", .string, "base, bronze, silver or gold")]),
            Operation(
                method: "get", path: "/api/v1/reseller/me", summary: "The reseller's dashboard: tier, progress, codes, customers",
                tag: "Resellers", access: .user, responses: [(200, "ResellerMe"), (403, "Error")]),
            Operation(
                method: "post", path: "/api/v1/reseller/promo/create",
                summary: "Create a promo code within the tier's credit per customer and code count", tag: "Resellers", access: .user,
                body: "PromoDraft", responses: [(201, "PromoCode"), (403, "Error"), (409, "Error"), (422, "Error")]),
        ]
    }
}

extension ResellersArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.resellersOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.resellersSchemas }
}

extension OpenAPIDocument {
    static var resellersSchemas: [String: JSONSchema] {
        [
            "ResellerDraft": object(
                ["user_id": uuid, "tier": string, "company_name": string], required: ["user_id", "company_name"]),
            "ResellerTierChange": object(["tier": string], required: ["tier"]),
            "ResellerTierLimits": object(
                ["credit_per_user": amount, "max_promos_per_reseller": integer, "min_sales_to_qualify": integer]),
            "ResellerTier": object(
                [
                    "name": string, "credit_per_user": amount, "min_sales_to_qualify": integer, "max_promos_per_reseller": integer,
                    "badge": string,
                ], required: ["name", "credit_per_user", "min_sales_to_qualify", "max_promos_per_reseller"]),
            "Reseller": object(
                [
                    "id": uuid, "user_id": uuid, "email": string, "company_name": string, "tier": string, "total_paid_sales": integer,
                    "promo_codes": integer, "created_at": time,
                ], required: ["id", "user_id", "company_name", "tier", "total_paid_sales"]),
            "ResellerList": object(
                [
                    "resellers": .array(items: ref("Reseller")), "total": integer,
                    "tiers": .array(items: ref("ResellerTier")),
                ], required: ["resellers", "total", "tiers"]),
            "ResellerMe": object(
                [
                    "reseller": ref("Reseller"), "tier": ref("ResellerTier"), "next_tier": ref("ResellerTier"),
                    "sales_to_next_tier": optionalInt, "promo_codes_left": integer,
                    "promo_codes": .array(items: ref("PromoCode")), "customers": integer,
                    "credits_distributed": amount, "redemptions": integer,
                ]),
        ]
    }
}
