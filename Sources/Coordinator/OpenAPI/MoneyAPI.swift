import Foundation

/// The money layer's schemas: credits, promo codes, resellers, billing, affiliates.
extension OpenAPIDocument {
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
