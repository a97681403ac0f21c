import Foundation

/// The money layer's part of the OpenAPI document: credits, promo codes, resellers, billing, affiliates.
extension OpenAPIDocument {
    static var moneyOperations: [Operation] {
        return [
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
            Operation(
                method: "post", path: "/api/v1/affiliate/join", summary: "Join the affiliate program; returns the dashboard",
                tag: "Affiliates", access: .user, responses: [(200, "AffiliateDashboard")]),
            Operation(
                method: "get", path: "/api/v1/affiliate/dashboard",
                summary: "Referral link, referrals, paying referrals, earnings, available balance, commissions, payouts",
                tag: "Affiliates", access: .user, responses: [(200, "AffiliateDashboard")]),
            Operation(
                method: "post", path: "/api/v1/affiliate/request-payout", summary: "Request the available balance (minimum 100 USD)",
                tag: "Affiliates", access: .user, responses: [(201, "Payout"), (403, "Error"), (409, "Error")], idempotent: true),
            Operation(
                method: "get", path: "/api/v1/affiliate/admin/payouts", summary: "Payout requests, newest first", tag: "Affiliates",
                access: .admin, responses: [(200, "PayoutList")], query: page),
            Operation(
                method: "post", path: "/api/v1/affiliate/admin/payouts/{id}/paid", summary: "Mark a payout paid", tag: "Affiliates",
                access: .admin, responses: [(200, "Payout"), (404, "Error")]),
        ]
    }

    static var moneySchemas: [String: Any] {
        let amount: [String: Any] = ["type": "number", "description": "Credits (1 credit = 1 USD), at most six decimals"]
        let optionalTime: [String: Any] = ["type": ["string", "null"], "format": "date-time"]
        let optionalInt: [String: Any] = ["type": ["integer", "null"]]
        let promo = object(
            [
                "id": uuid, "code": string, "credit_amount": amount, "campaign": string, "max_uses": optionalInt, "per_user_limit": integer,
                "uses": integer, "expires_at": optionalTime, "credit_expires_in_days": optionalInt, "active": boolean, "reseller_id": uuid,
                "created_at": time,
            ], required: ["id", "code", "credit_amount", "uses", "active"])
        let tier = object(
            [
                "name": string, "credit_per_user": amount, "min_sales_to_qualify": integer, "max_promos_per_reseller": integer,
                "badge": string,
            ], required: ["name", "credit_per_user", "min_sales_to_qualify", "max_promos_per_reseller"])
        let reseller = object(
            [
                "id": uuid, "user_id": uuid, "email": string, "company_name": string, "tier": string, "total_paid_sales": integer,
                "promo_codes": integer, "created_at": time,
            ], required: ["id", "user_id", "company_name", "tier", "total_paid_sales"])
        let transaction = object(
            [
                "id": uuid, "tx_type": ["type": "string", "enum": ["grant", "spend", "expire", "revoke", "refund"]], "amount": amount,
                "balance_after": amount, "description": string, "category": string, "grant_id": uuid, "created_at": time,
            ], required: ["id", "tx_type", "amount", "balance_after", "description", "category"])
        let balance = object(
            [
                "balance": amount, "total_granted": amount, "total_used": amount, "total_expired": amount, "total_revoked": amount,
                "active_grants": integer, "status": ["type": "string", "enum": ["active", "grace", "suspended"]],
                "grace_ends_at": optionalTime,
            ], required: ["balance", "total_granted", "total_used", "total_expired", "active_grants", "status"])
        let grantResult = object(
            [
                "user_id": uuid, "transaction_id": uuid, "grant_id": uuid, "amount": amount, "new_balance": amount,
                "expires_at": optionalTime,
            ], required: ["user_id", "transaction_id", "amount", "new_balance"])
        let payout = object(
            ["id": uuid, "affiliate_user_id": uuid, "amount": amount, "status": string, "requested_at": time, "paid_at": optionalTime],
            required: ["id", "amount", "status"])
        let subscription = object(
            [
                "plan_id": string, "method": string, "status": ["type": "string", "enum": ["active", "grace", "canceled"]],
                "current_period_end": time, "cancel_at_period_end": boolean, "grace_ends_at": optionalTime,
            ], required: ["plan_id", "method", "status", "current_period_end", "cancel_at_period_end"])
        return [
            "CreditBalance": balance,
            "CreditGrant": object(
                [
                    "id": uuid, "amount": amount, "remaining": amount, "source": string, "campaign": string, "description": string,
                    "expires_at": optionalTime, "created_at": time,
                ], required: ["id", "amount", "remaining", "source"]),
            "CreditGrantList": list("grants", of: "CreditGrant"),
            "CreditTransaction": transaction,
            "CreditTransactionList": list("transactions", of: "CreditTransaction"),
            "CreditHistory": list("history", of: "CreditTransaction"),
            "BuyCredits": object(
                [
                    "package": ["type": "string", "enum": ["starter", "standard", "pro", "custom"]],
                    "amount": ["type": "number", "description": "For custom: 1 to 10000 credits, whole cents"],
                ]),
            "Checkout": object(
                [
                    "payment_id": uuid, "checkout_url": string, "session_id": string, "amount": amount, "credits": amount,
                    "status": string,
                ], required: ["payment_id", "amount", "status"]),
            "CreditGrantRequest": object(
                [
                    "user_id": uuid, "amount": amount, "campaign": string, "description": string,
                    "expires_in_days": ["type": ["integer", "null"], "description": "null never expires (the default)"],
                ], required: ["user_id", "amount"]),
            "CreditBulkGrantRequest": object(
                [
                    "user_ids": ["type": "array", "items": uuid, "maxItems": 500], "amount": amount, "campaign": string,
                    "description": string, "expires_in_days": optionalInt,
                ], required: ["user_ids", "amount"]),
            "CreditGrantResult": grantResult,
            "CreditBulkGrantResult": object(
                ["granted": integer, "results": ["type": "array", "items": ref("CreditGrantResult")]], required: ["granted", "results"]),
            "CreditRevokeRequest": object(
                ["user_id": uuid, "amount": amount, "grant_id": uuid, "reason": string], required: ["user_id"]),
            "CreditRefundRequest": object(
                ["user_id": uuid, "transaction_id": uuid, "amount": amount, "reason": string], required: ["user_id", "transaction_id"]),
            "CreditOverview": object(
                [
                    "accounts": integer, "total_balance": amount, "total_granted": amount, "total_used": amount, "total_expired": amount,
                    "total_revoked": amount, "active_grants": integer, "expiring_within30_days": amount, "accounts_in_grace": integer,
                    "promo_codes": integer, "promo_redemptions": integer, "token_mints": ["type": "object"],
                ]),
            "CreditUserDetail": object(
                [
                    "user": ["type": "object"], "balance": ref("CreditBalance"), "grants": ["type": "array", "items": ref("CreditGrant")],
                    "transactions": ["type": "array", "items": ref("CreditTransaction")],
                ]),
            "PromoDraft": object(
                [
                    "code": ["type": "string", "pattern": "^[A-Za-z0-9_-]{3,64}$"], "credit_amount": amount, "campaign": string,
                    "max_uses": optionalInt, "per_user_limit": integer, "expires_in_days": optionalInt,
                    "credit_expires_in_days": optionalInt,
                ], required: ["code", "credit_amount"]),
            "PromoCode": promo,
            "PromoList": list("promo_codes", of: "PromoCode"),
            "PromoRedeem": object(["code": string], required: ["code"]),
            "PromoRedemption": object(
                ["ok": boolean, "code": string, "credits_received": amount, "new_balance": amount, "expires_at": optionalTime],
                required: ["ok", "code", "credits_received", "new_balance"]),
            "ResellerDraft": object(
                ["user_id": uuid, "tier": string, "company_name": string], required: ["user_id", "company_name"]),
            "ResellerTierChange": object(["tier": string], required: ["tier"]),
            "ResellerTierLimits": object(
                ["credit_per_user": amount, "max_promos_per_reseller": integer, "min_sales_to_qualify": integer]),
            "ResellerTier": tier,
            "Reseller": reseller,
            "ResellerList": object(
                [
                    "resellers": ["type": "array", "items": ref("Reseller")], "total": integer,
                    "tiers": ["type": "array", "items": ref("ResellerTier")],
                ], required: ["resellers", "total", "tiers"]),
            "ResellerMe": object(
                [
                    "reseller": ref("Reseller"), "tier": ref("ResellerTier"), "next_tier": ref("ResellerTier"),
                    "sales_to_next_tier": optionalInt, "promo_codes_left": integer,
                    "promo_codes": ["type": "array", "items": ref("PromoCode")], "customers": integer,
                    "credits_distributed": amount, "redemptions": integer,
                ]),
            "BillingOverview": object(
                [
                    "plan": string, "subscription": ref("Subscription"), "plans": ["type": "array", "items": ["type": "object"]],
                    "payments": ["type": "array", "items": ["type": "object"]], "credits_purchasable": boolean,
                    "token_discount_percent": integer,
                ]),
            "Subscribe": object(
                ["plan_id": string, "method": ["type": "string", "enum": ["stripe", "token", "credits"]]], required: ["plan_id", "method"]),
            "SubscribeResult": object(
                [
                    "payment_id": uuid, "plan_id": string, "method": string, "status": ["type": "string", "enum": ["paid", "pending"]],
                    "amount": amount, "list_price": amount, "discount_percent": integer, "checkout_url": string,
                    "current_period_end": optionalTime,
                ], required: ["payment_id", "plan_id", "method", "status", "amount"]),
            "Subscription": subscription,
            "WebhookAnswer": object(["received": boolean, "result": string], required: ["received", "result"]),
            "TokenConfirmation": object(
                ["payment_id": uuid, "chain": string, "tx_hash": string, "amount": amount],
                required: ["payment_id", "chain", "tx_hash", "amount"]),
            "TokenMintList": object(
                ["mints": ["type": "array", "items": ["type": "object"]], "total": integer], required: ["mints", "total"]),
            "AffiliateDashboard": object(
                [
                    "joined": boolean, "code": string, "referral_link": string, "total_referrals": integer, "paying_referrals": integer,
                    "total_earned": amount, "available_balance": amount, "minimum_payout": amount, "commission_percent": integer,
                    "commissions": ["type": "array", "items": ["type": "object"]],
                    "payouts": ["type": "array", "items": ["type": "object"]],
                ], required: ["joined", "total_referrals", "paying_referrals", "total_earned", "available_balance"]),
            "Payout": payout,
            "PayoutList": list("payouts", of: "Payout"),
        ]
    }
}
