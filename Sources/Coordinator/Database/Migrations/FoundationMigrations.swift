import DCDNCore
import FluentKit
import SQLKit

/// The first schema: plans, users and their credentials, the dev outbox.
/// Migrations run in order and are never edited once released; changes come as new ones.
enum FoundationMigrations {
    static var all: [any AsyncMigration] {
        [
            CreatePlans(), CreateUsers(), CreateAPITokens(), CreateSessions(), CreateEmailVerifications(), CreateOutbox(),
            CreateRateLimitCounts(), CreateJobRuns(),
        ]
    }

    struct CreatePlans: AsyncMigration {
        var name: String { "001_create_plans" }
        func prepare(on database: any Database) async throws {
            try await database.schema(Plan.schema)
                .field("id", .string, .identifier(auto: false))
                .field("name", .string, .required)
                .field("monthly_price_micro", .int64)
                .field("byok_required", .bool, .required)
                .field("limits", .dictionary(of: .int64), .required)
                .field("position", .int, .required)
                .field("updated_at", .datetime)
                .create()
            for (position, definition) in PlanCatalog.defaults.enumerated() {
                try await Plan(definition, position: position).create(on: database)
            }
        }
        func revert(on database: any Database) async throws {
            try await database.schema(Plan.schema).delete()
        }
    }

    struct CreateUsers: AsyncMigration {
        var name: String { "002_create_users" }
        func prepare(on database: any Database) async throws {
            try await database.schema(User.schema)
                .id()
                .field("email", .string, .required)
                .field("password_hash", .string)
                .field("role", .string, .required)
                .field("plan_id", .string, .required, .references(Plan.schema, "id"))
                .field("email_verified_at", .datetime)
                .field("oidc_subject", .string)
                .field("referral_code", .string)
                .field("auth_epoch", .int, .required)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .unique(on: "email")
                .unique(on: "oidc_subject")
                .create()
        }
        func revert(on database: any Database) async throws {
            try await database.schema(User.schema).delete()
        }
    }

    struct CreateAPITokens: AsyncMigration {
        var name: String { "003_create_api_tokens" }
        func prepare(on database: any Database) async throws {
            try await database.schema(APIToken.schema)
                .id()
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("name", .string, .required)
                .field("token_hash", .string, .required)
                .field("prefix", .string, .required)
                .field("last_used_at", .datetime)
                .field("created_at", .datetime)
                .unique(on: "token_hash")
                .create()
        }
        func revert(on database: any Database) async throws {
            try await database.schema(APIToken.schema).delete()
        }
    }

    struct CreateSessions: AsyncMigration {
        var name: String { "004_create_sessions" }
        func prepare(on database: any Database) async throws {
            try await database.schema(Session.schema)
                .id()
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("token_hash", .string, .required)
                .field("expires_at", .datetime, .required)
                .field("ip", .string)
                .field("user_agent", .string)
                .field("created_at", .datetime)
                .unique(on: "token_hash")
                .create()
        }
        func revert(on database: any Database) async throws {
            try await database.schema(Session.schema).delete()
        }
    }

    struct CreateEmailVerifications: AsyncMigration {
        var name: String { "005_create_email_verifications" }
        func prepare(on database: any Database) async throws {
            try await database.schema(EmailVerification.schema)
                .id()
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("token_hash", .string, .required)
                .field("expires_at", .datetime, .required)
                .field("used_at", .datetime)
                .field("created_at", .datetime)
                .unique(on: "token_hash")
                .create()
        }
        func revert(on database: any Database) async throws {
            try await database.schema(EmailVerification.schema).delete()
        }
    }

    struct CreateOutbox: AsyncMigration {
        var name: String { "006_create_outbox_messages" }
        func prepare(on database: any Database) async throws {
            try await database.schema(OutboxMessage.schema)
                .id()
                .field("sender", .string, .required)
                .field("recipients", .array(of: .string), .required)
                .field("subject", .string, .required)
                .field("body", .string, .required)
                .field("created_at", .datetime)
                .create()
        }
        func revert(on database: any Database) async throws {
            try await database.schema(OutboxMessage.schema).delete()
        }
    }

    /// Rate-limit counts shared by coordinator replicas (`SharedRateLimitCounts`): one row per
    /// limit, key and window, times in Unix milliseconds.
    struct CreateRateLimitCounts: AsyncMigration {
        var name: String { "024_create_rate_limit_counts" }
        func prepare(on database: any Database) async throws {
            guard let sql = database as? any SQLDatabase else { return }
            try await sql.raw(
                """
                CREATE TABLE rate_limit_counts (key TEXT NOT NULL, window_start BIGINT NOT NULL, count INTEGER NOT NULL,
                    expires_at BIGINT NOT NULL, PRIMARY KEY (key, window_start))
                """
            ).run()
            try await sql.raw("CREATE INDEX rate_limit_counts_expiry ON rate_limit_counts (expires_at)").run()
        }
        func revert(on database: any Database) async throws {
            try await database.schema("rate_limit_counts").delete()
        }
    }

    /// Background jobs' items and which replica ran them (`JobClaims`); times in Unix milliseconds.
    struct CreateJobRuns: AsyncMigration {
        var name: String { "025_create_job_runs" }
        func prepare(on database: any Database) async throws {
            guard let sql = database as? any SQLDatabase else { return }
            try await sql.raw(
                """
                CREATE TABLE job_runs (job TEXT NOT NULL, item TEXT NOT NULL, claimed_by TEXT NOT NULL, lease_until BIGINT NOT NULL,
                    attempts INTEGER NOT NULL, first_claimed_at BIGINT NOT NULL, completed_at BIGINT, completed_by TEXT,
                    PRIMARY KEY (job, item))
                """
            ).run()
            try await sql.raw("CREATE INDEX job_runs_completed ON job_runs (completed_at)").run()
        }
        func revert(on database: any Database) async throws {
            try await database.schema("job_runs").delete()
        }
    }
}
