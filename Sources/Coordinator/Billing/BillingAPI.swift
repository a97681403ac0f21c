import Foundation
import OpenAPIKit

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
                tag: "Billing", access: .publicRoute, responses: [(200, "WebhookAnswer"), (400, "Error"), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/billing/token/webhook",
                summary: "The chain watcher's token payment confirmation (DCDN-Signature, Stripe's scheme)", tag: "Billing",
                access: .publicRoute, body: "TokenConfirmation",
                responses: [(200, "WebhookAnswer"), (400, "Error"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/billing/admin/token-mints",
                summary: "The token ledger: each payment's 70/25/5 mint split, for on-chain settlement", tag: "Billing", access: .admin,
                responses: [(200, "TokenMintList")], query: page + [("unsettled", .boolean, "Only mints not yet on chain")]),
        ]
    }
}

extension BillingArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.billingOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.billingSchemas }
}

extension OpenAPIDocument {
    static var billingSchemas: [String: JSONSchema] {
        [
            "BillingOverview": object(
                [
                    "plan": string, "subscription": ref("Subscription"), "plans": .array(items: .object),
                    "payments": .array(items: .object), "credits_purchasable": boolean,
                    "token_discount_percent": integer,
                ]),
            "Subscribe": object(
                ["plan_id": string, "method": .string(allowedValues: ["stripe", "token", "credits"])], required: ["plan_id", "method"]),
            "SubscribeResult": object(
                [
                    "payment_id": uuid, "plan_id": string, "method": string, "status": .string(allowedValues: ["paid", "pending"]),
                    "amount": amount, "list_price": amount, "discount_percent": integer, "checkout_url": string,
                    "current_period_end": optionalTime,
                ], required: ["payment_id", "plan_id", "method", "status", "amount"]),
            "Subscription": object(
                [
                    "plan_id": string, "method": string, "status": .string(allowedValues: ["active", "grace", "canceled"]),
                    "current_period_end": time, "cancel_at_period_end": boolean, "grace_ends_at": optionalTime,
                ], required: ["plan_id", "method", "status", "current_period_end", "cancel_at_period_end"]),
            "WebhookAnswer": object(["received": boolean, "result": string], required: ["received", "result"]),
            "TokenConfirmation": object(
                ["payment_id": uuid, "chain": string, "tx_hash": string, "amount": amount],
                required: ["payment_id", "chain", "tx_hash", "amount"]),
            "TokenMintList": object(
                ["mints": .array(items: .object), "total": integer], required: ["mints", "total"]),
        ]
    }
}
