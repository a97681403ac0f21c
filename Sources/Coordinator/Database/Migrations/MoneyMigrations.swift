import FluentKit
import SQLKit

/// The money layer: credit ledger, promo codes, resellers, payments, subscriptions, affiliates.
enum MoneyMigrations {
    static var all: [any AsyncMigration] { [CreateCreditLedger(), CreatePromoCodesAndResellers(), CreatePaymentsAndAffiliates()] }

    struct CreateCreditLedger: AsyncMigration {
        var name: String { "020_create_credit_ledger" }
        func prepare(on database: any Database) async throws {
            try await database.schema(CreditAccount.schema)
                .field("user_id", .uuid, .identifier(auto: false), .references(User.schema, "id", onDelete: .cascade))
                .field("balance_micro", .int64, .required)
                .field("total_granted_micro", .int64, .required)
                .field("total_used_micro", .int64, .required)
                .field("total_expired_micro", .int64, .required)
                .field("total_revoked_micro", .int64, .required)
                .field("grant_count", .int64, .required)
                .field("transaction_count", .int64, .required)
                .field("depleted_at", .datetime)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .create()
            try await database.schema(CreditGrant.schema)
                .id()
                .field("user_id", .uuid, .required, .references(CreditAccount.schema, "user_id", onDelete: .cascade))
                .field("sequence", .int64, .required)
                .field("amount_micro", .int64, .required)
                .field("remaining_micro", .int64, .required)
                .field("source", .string, .required)
                .field("campaign", .string)
                .field("description", .string, .required)
                .field("expires_at", .datetime)
                .field("granted_by", .uuid)
                .field("created_at", .datetime)
                .unique(on: "user_id", "sequence")
                .create()
            try await database.schema(CreditTransaction.schema)
                .id()
                .field("user_id", .uuid, .required, .references(CreditAccount.schema, "user_id", onDelete: .cascade))
                .field("sequence", .int64, .required)
                .field("tx_type", .string, .required)
                .field("amount_micro", .int64, .required)
                .field("balance_after_micro", .int64, .required)
                .field("category", .string, .required)
                .field("description", .string, .required)
                .field("grant_id", .uuid)
                .field("idempotency_key", .string, .required)
                .field("refunded_micro", .int64, .required)
                .field("created_at", .datetime)
                .unique(on: "user_id", "idempotency_key")
                .unique(on: "user_id", "sequence")
                .create()
            try await database.schema(TokenMint.schema)
                .id()
                .field("user_id", .uuid, .required)
                .field("source", .string, .required)
                .field("reference", .uuid, .required)
                .field("amount_micro", .int64, .required)
                .field("node_reward_pool_micro", .int64, .required)
                .field("rsp_holders_micro", .int64, .required)
                .field("rsp_treasury_micro", .int64, .required)
                .field("lp_treasury_micro", .int64, .required)
                .field("settled_at", .datetime)
                .field("created_at", .datetime)
                .create()
            try await database.schema(IdempotencyRecord.schema)
                .id()
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("key", .string, .required)
                .field("route", .string, .required)
                .field("response", .string)
                .field("created_at", .datetime)
                .unique(on: "user_id", "key")
                .create()
            try await index(database, "credit_grants_expiry", on: CreditGrant.schema, "expires_at", "remaining_micro")
        }
        func revert(on database: any Database) async throws {
            for schema in [IdempotencyRecord.schema, TokenMint.schema, CreditTransaction.schema, CreditGrant.schema, CreditAccount.schema] {
                try await database.schema(schema).delete()
            }
        }
    }

    struct CreatePromoCodesAndResellers: AsyncMigration {
        var name: String { "021_create_promo_codes_and_resellers" }
        func prepare(on database: any Database) async throws {
            try await database.schema(ResellerTier.schema)
                .field("name", .string, .identifier(auto: false))
                .field("credit_per_user_micro", .int64, .required)
                .field("min_sales_to_qualify", .int, .required)
                .field("max_promos_per_reseller", .int, .required)
                .field("badge", .string, .required)
                .field("position", .int, .required)
                .create()
            for tier in ResellerTier.defaults { try await tier.create(on: database) }
            try await database.schema(Reseller.schema)
                .id()
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("company_name", .string, .required)
                .field("tier", .string, .required, .references(ResellerTier.schema, "name"))
                .field("total_paid_sales", .int, .required)
                .field("created_at", .datetime)
                .unique(on: "user_id")
                .create()
            try await database.schema(PromoCode.schema)
                .id()
                .field("code", .string, .required)
                .field("code_key", .string, .required)
                .field("credit_amount_micro", .int64, .required)
                .field("campaign", .string)
                .field("max_uses", .int)
                .field("per_user_limit", .int, .required)
                .field("uses", .int, .required)
                .field("expires_at", .datetime)
                .field("credit_expires_in_days", .int)
                .field("active", .bool, .required)
                .field("created_by", .uuid, .required)
                .field("reseller_id", .uuid, .references(Reseller.schema, "id", onDelete: .cascade))
                .field("created_at", .datetime)
                .unique(on: "code_key")
                .create()
            try await database.schema(PromoRedemption.schema)
                .id()
                .field("promo_id", .uuid, .required, .references(PromoCode.schema, "id", onDelete: .cascade))
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("amount_micro", .int64, .required)
                .field("transaction_id", .uuid, .required)
                .field("created_at", .datetime)
                .create()
            try await database.schema(ResellerPromoLog.schema)
                .id()
                .field("reseller_id", .uuid, .required, .references(Reseller.schema, "id", onDelete: .cascade))
                .field("promo_id", .uuid, .required)
                .field("user_id", .uuid, .required)
                .field("amount_micro", .int64, .required)
                .field("created_at", .datetime)
                .create()
            try await index(database, "promo_redemptions_user", on: PromoRedemption.schema, "promo_id", "user_id")
            try await index(database, "reseller_promo_log_user", on: ResellerPromoLog.schema, "user_id")
        }
        func revert(on database: any Database) async throws {
            for schema in [ResellerPromoLog.schema, PromoRedemption.schema, PromoCode.schema, Reseller.schema, ResellerTier.schema] {
                try await database.schema(schema).delete()
            }
        }
    }

    struct CreatePaymentsAndAffiliates: AsyncMigration {
        var name: String { "022_create_payments_and_affiliates" }
        func prepare(on database: any Database) async throws {
            try await database.schema(Payment.schema)
                .id()
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("kind", .string, .required)
                .field("method", .string, .required)
                .field("plan_id", .string)
                .field("credits_micro", .int64, .required)
                .field("amount_micro", .int64, .required)
                .field("list_price_micro", .int64, .required)
                .field("status", .string, .required)
                .field("provider_reference", .string)
                .field("checkout_url", .string)
                .field("renewal", .bool, .required)
                .field("paid_at", .datetime)
                .field("created_at", .datetime)
                .create()
            try await database.schema(Subscription.schema)
                .field("user_id", .uuid, .identifier(auto: false), .references(User.schema, "id", onDelete: .cascade))
                .field("plan_id", .string, .required)
                .field("method", .string, .required)
                .field("status", .string, .required)
                .field("current_period_end", .datetime, .required)
                .field("cancel_at_period_end", .bool, .required)
                .field("grace_ends_at", .datetime)
                .field("stripe_subscription_id", .string)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .create()
            try await database.schema(PaymentEvent.schema)
                .field("id", .string, .identifier(auto: false))
                .field("type", .string, .required)
                .field("received_at", .datetime)
                .create()
            try await database.schema(Affiliate.schema)
                .field("user_id", .uuid, .identifier(auto: false), .references(User.schema, "id", onDelete: .cascade))
                .field("code", .string, .required)
                .field("created_at", .datetime)
                .unique(on: "code")
                .create()
            try await database.schema(AffiliateCommission.schema)
                .id()
                .field("affiliate_user_id", .uuid, .required, .references(Affiliate.schema, "user_id", onDelete: .cascade))
                .field("referred_user_id", .uuid, .required)
                .field("payment_id", .uuid, .required)
                .field("payment_amount_micro", .int64, .required)
                .field("amount_micro", .int64, .required)
                .field("percent", .int, .required)
                .field("created_at", .datetime)
                .unique(on: "payment_id")
                .create()
            try await database.schema(AffiliatePayout.schema)
                .id()
                .field("affiliate_user_id", .uuid, .required, .references(Affiliate.schema, "user_id", onDelete: .cascade))
                .field("amount_micro", .int64, .required)
                .field("status", .string, .required)
                .field("requested_at", .datetime)
                .field("paid_at", .datetime)
                .create()
            try await index(database, "payments_reference", on: Payment.schema, "provider_reference")
        }
        func revert(on database: any Database) async throws {
            for schema in [
                AffiliatePayout.schema, AffiliateCommission.schema, Affiliate.schema, PaymentEvent.schema, Subscription.schema,
                Payment.schema,
            ] {
                try await database.schema(schema).delete()
            }
        }
    }
}

/// A plain index (Fluent's schema builder has none); the same SQL on SQLite and PostgreSQL.
func index(_ database: any Database, _ name: String, on table: String, _ columns: String...) async throws {
    guard let sql = database as? any SQLDatabase else { return }
    try await columns.reduce(sql.create(index: name).on(table)) { $0.column($1) }.run()
}
