import Foundation

/// Promo codes.
extension OpenAPIDocument {
    static var promoOperations: [Operation] {
        [
            Operation(
                method: "post", path: "/api/v1/promo/create", summary: "Create a promo code", tag: "Promo codes", access: .admin,
                body: "PromoDraft", responses: [(201, "PromoCode"), (409, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/promo/list", summary: "All promo codes, newest first", tag: "Promo codes", access: .admin,
                responses: [(200, "PromoList")], query: page),
            Operation(
                method: "post", path: "/api/v1/promo/{id}/toggle", summary: "Enable or disable a code", tag: "Promo codes",
                access: .admin, responses: [(200, "PromoCode"), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/promo/redeem", summary: "Redeem a promo code (5 attempts per minute)", tag: "Promo codes",
                access: .user, body: "PromoRedeem",
                responses: [(200, "PromoRedemption"), (403, "Error"), (404, "Error"), (409, "Error"), (422, "Error")], idempotent: true),
        ]
    }
}

extension PromoArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.promoOperations }
}
