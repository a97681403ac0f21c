import Foundation
import OpenAPIKit

/// Balances, grants and the ledger (billing guide).
extension OpenAPIDocument {
    static var creditsOperations: [Operation] {
        [
            Operation(
                method: "get", path: "/api/v1/credits/balance",
                summary: "Balance, totals, active grants and standing (active, grace, suspended)",
                tag: "Credits", access: .user, responses: [(200, "CreditBalance")]),
            Operation(
                method: "get", path: "/api/v1/credits/grants", summary: "Active grants with remaining amounts, oldest (spent first) first",
                tag: "Credits", access: .user, responses: [(200, "CreditGrantList")], query: page),
            Operation(
                method: "get", path: "/api/v1/credits/transactions", summary: "The credit ledger, newest first", tag: "Credits",
                access: .user, responses: [(200, "CreditTransactionList"), (422, "Error")],
                query: page + [
                    ("tx_type", .string(allowedValues: ["grant", "spend", "expire", "revoke", "refund"]), "Only this kind")
                ]),
            Operation(
                method: "get", path: "/api/v1/credits/history", summary: "Full credit history (limit, offset, total)", tag: "Credits",
                access: .user, responses: [(200, "CreditHistory"), (422, "Error")], query: page),
            Operation(
                method: "get", path: "/api/v1/credits/transactions/export", summary: "The whole ledger as CSV (text/csv)",
                tag: "Credits", access: .user, responses: [(200, "text/csv")]),
            Operation(
                method: "post", path: "/api/v1/credits/buy",
                summary: "Buy credits by card: a Stripe Checkout Session (403 credits_not_purchasable when the operator has it off)",
                tag: "Credits", access: .user, body: "BuyCredits",
                responses: [(201, "Checkout"), (403, "Error"), (422, "Error"), (502, "Error"), (503, "Error")], idempotent: true),
            Operation(
                method: "post", path: "/api/v1/credits/grant", summary: "Grant credits to a user (optional campaign and expiry)",
                tag: "Credits", access: .admin, body: "CreditGrantRequest", responses: [(201, "CreditGrantResult"), (422, "Error")],
                idempotent: true),
            Operation(
                method: "post", path: "/api/v1/credits/grant/bulk", summary: "Grant credits to up to 500 users", tag: "Credits",
                access: .admin, body: "CreditBulkGrantRequest", responses: [(201, "CreditBulkGrantResult"), (422, "Error")],
                idempotent: true),
            Operation(
                method: "post", path: "/api/v1/credits/revoke",
                summary: "Revoke credits: an amount (oldest grants first) or a grant's remainder", tag: "Credits", access: .admin,
                body: "CreditRevokeRequest", responses: [(200, "CreditTransaction"), (402, "Error"), (422, "Error")], idempotent: true),
            Operation(
                method: "post", path: "/api/v1/credits/refund", summary: "Refund some or all of a spend as a new grant that never expires",
                tag: "Credits", access: .admin, body: "CreditRefundRequest",
                responses: [(200, "CreditTransaction"), (404, "Error"), (422, "Error")], idempotent: true),
            Operation(
                method: "get", path: "/api/v1/credits/admin/overview", summary: "System-wide credit and token-mint totals", tag: "Credits",
                access: .admin, responses: [(200, "CreditOverview")]),
            Operation(
                method: "get", path: "/api/v1/credits/admin/user/{id}", summary: "A user's balance, grants and last 100 transactions",
                tag: "Credits", access: .admin, responses: [(200, "CreditUserDetail"), (404, "Error")]),
        ]
    }
}

extension CreditsArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.creditsOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.creditsSchemas }
}

extension OpenAPIDocument {
    static var creditsSchemas: [String: JSONSchema] {
        [
            "CreditBalance": object(
                [
                    "balance": amount, "total_granted": amount, "total_used": amount, "total_expired": amount, "total_revoked": amount,
                    "active_grants": integer, "status": .string(allowedValues: ["active", "grace", "suspended"]),
                    "grace_ends_at": optionalTime,
                ], required: ["balance", "total_granted", "total_used", "total_expired", "active_grants", "status"]),
            "CreditGrant": object(
                [
                    "id": uuid, "amount": amount, "remaining": amount, "source": string, "campaign": string, "description": string,
                    "expires_at": optionalTime, "created_at": time,
                ], required: ["id", "amount", "remaining", "source"]),
            "CreditGrantList": list("grants", of: "CreditGrant"),
            "CreditTransaction": object(
                [
                    "id": uuid, "tx_type": .string(allowedValues: ["grant", "spend", "expire", "revoke", "refund"]), "amount": amount,
                    "balance_after": amount, "description": string, "category": string, "grant_id": uuid, "created_at": time,
                ], required: ["id", "tx_type", "amount", "balance_after", "description", "category"]),
            "CreditTransactionList": list("transactions", of: "CreditTransaction"),
            "CreditHistory": list("history", of: "CreditTransaction"),
            "BuyCredits": object(
                [
                    "package": .string(allowedValues: ["starter", "standard", "pro", "custom"]),
                    "amount": .number(description: "For custom: 1 to 10000 credits, whole cents"),
                ]),
            "Checkout": object(
                [
                    "payment_id": uuid, "checkout_url": string, "session_id": string, "amount": amount, "credits": amount,
                    "status": string,
                ], required: ["payment_id", "amount", "status"]),
            "CreditGrantRequest": object(
                [
                    "user_id": uuid, "amount": amount, "campaign": string, "description": string,
                    "expires_in_days": .integer(nullable: true, description: "null never expires (the default)"),
                ], required: ["user_id", "amount"]),
            "CreditBulkGrantRequest": object(
                [
                    "user_ids": .array(maxItems: 500, items: uuid), "amount": amount, "campaign": string,
                    "description": string, "expires_in_days": optionalInt,
                ], required: ["user_ids", "amount"]),
            "CreditGrantResult": object(
                [
                    "user_id": uuid, "transaction_id": uuid, "grant_id": uuid, "amount": amount, "new_balance": amount,
                    "expires_at": optionalTime,
                ], required: ["user_id", "transaction_id", "amount", "new_balance"]),
            "CreditBulkGrantResult": object(
                ["granted": integer, "results": .array(items: ref("CreditGrantResult"))], required: ["granted", "results"]),
            "CreditRevokeRequest": object(
                ["user_id": uuid, "amount": amount, "grant_id": uuid, "reason": string], required: ["user_id"]),
            "CreditRefundRequest": object(
                ["user_id": uuid, "transaction_id": uuid, "amount": amount, "reason": string], required: ["user_id", "transaction_id"]),
            "CreditOverview": object(
                [
                    "accounts": integer, "total_balance": amount, "total_granted": amount, "total_used": amount, "total_expired": amount,
                    "total_revoked": amount, "active_grants": integer, "expiring_within30_days": amount, "accounts_in_grace": integer,
                    "promo_codes": integer, "promo_redemptions": integer, "token_mints": .object,
                ]),
            "CreditUserDetail": object(
                [
                    "user": .object, "balance": ref("CreditBalance"), "grants": .array(items: ref("CreditGrant")),
                    "transactions": .array(items: ref("CreditTransaction")),
                ]),
        ]
    }
}
