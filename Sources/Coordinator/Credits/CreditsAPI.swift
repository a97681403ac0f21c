import Foundation

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
                    ("tx_type", ["type": "string", "enum": ["grant", "spend", "expire", "revoke", "refund"]], "Only this kind")
                ]),
            Operation(
                method: "get", path: "/api/v1/credits/history", summary: "Full credit history (limit, offset, total)", tag: "Credits",
                access: .user, responses: [(200, "CreditHistory"), (422, "Error")], query: page),
            Operation(
                method: "get", path: "/api/v1/credits/transactions/export", summary: "The whole ledger as CSV (text/csv)",
                tag: "Credits", access: .user, responses: [(200, nil)]),
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
}
