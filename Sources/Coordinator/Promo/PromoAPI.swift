import Foundation
import OpenAPIKit

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
    static var schemas: [String: JSONSchema] { OpenAPIDocument.promoSchemas }
}

extension OpenAPIDocument {
    static var promoSchemas: [String: JSONSchema] {
        [
            "PromoDraft": object(
                [
                    "code": .string(pattern: "^[A-Za-z0-9_-]{3,64}$"), "credit_amount": amount, "campaign": string,
                    "max_uses": optionalInt, "per_user_limit": integer, "expires_in_days": optionalInt,
                    "credit_expires_in_days": optionalInt,
                ], required: ["code", "credit_amount"]),
            "PromoCode": object(
                [
                    "id": uuid, "code": string, "credit_amount": amount, "campaign": string, "max_uses": optionalInt,
                    "per_user_limit": integer,
                    "uses": integer, "expires_at": optionalTime, "credit_expires_in_days": optionalInt, "active": boolean,
                    "reseller_id": uuid,
                    "created_at": time,
                ], required: ["id", "code", "credit_amount", "uses", "active"]),
            "PromoList": list("promo_codes", of: "PromoCode"),
            "PromoRedeem": object(["code": string], required: ["code"]),
            "PromoRedemption": object(
                ["ok": boolean, "code": string, "credits_received": amount, "new_balance": amount, "expires_at": optionalTime],
                required: ["ok", "code", "credits_received", "new_balance"]),
        ]
    }
}
