import Foundation

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
                query: [("tier_name", ["type": "string"], "base, bronze, silver or gold")]),
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
}
