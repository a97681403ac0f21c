import Foundation

/// Plans paid by card, token or credits; webhooks; token mints.
extension OpenAPIDocument {
    static var billingOperations: [Operation] {
        [
            Operation(
                method: "get", path: "/api/v1/billing", summary: "Your plan, subscription, plans with card and token prices, payments",
                tag: "Billing", access: .user, responses: [(200, "BillingOverview")]),
            Operation(
                method: "post", path: "/api/v1/billing/subscribe",
                summary:
                    "Subscribe to a plan, monthly, by stripe (checkout_url), token (15 % off; pay amount with payment_id) or credits (now)",
                tag: "Billing", access: .user, body: "Subscribe",
                responses: [(201, "SubscribeResult"), (402, "Error"), (422, "Error"), (502, "Error"), (503, "Error")], idempotent: true),
            Operation(
                method: "post", path: "/api/v1/billing/cancel", summary: "Stop renewing; the plan lasts until the paid period ends",
                tag: "Billing", access: .user, responses: [(200, "Subscription"), (409, "Error")]),
            Operation(
                method: "post", path: "/api/v1/billing/stripe/webhook",
                summary: "Stripe events (Stripe-Signature): checkout.session.completed, …async_payment_succeeded/failed, invoice.paid",
                tag: "Billing", access: .publicRoute, responses: [(200, "WebhookAnswer"), (400, "Error"), (503, "Error")]),
            Operation(
                method: "post", path: "/api/v1/billing/token/webhook",
                summary: "The chain watcher's token payment confirmation (DCDN-Signature, Stripe's scheme)", tag: "Billing",
                access: .publicRoute, body: "TokenConfirmation",
                responses: [(200, "WebhookAnswer"), (400, "Error"), (404, "Error"), (422, "Error"), (503, "Error")]),
            Operation(
                method: "get", path: "/api/v1/billing/admin/token-mints",
                summary: "The token ledger: each payment's 70/25/5 mint split, for on-chain settlement", tag: "Billing", access: .admin,
                responses: [(200, "TokenMintList")], query: page + [("unsettled", ["type": "boolean"], "Only mints not yet on chain")]),
        ]
    }
}

extension BillingArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.billingOperations }
}
