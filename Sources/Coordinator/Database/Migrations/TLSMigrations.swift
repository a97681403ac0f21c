import FluentKit
import SQLKit

/// Certificates, ACME HTTP-01 answers and the platform's ACME accounts.
enum TLSMigrations {
    static var all: [any AsyncMigration] { [CreateCertificates(), DropCertificateLocks()] }

    struct CreateCertificates: AsyncMigration {
        var name: String { "016_create_certificates" }
        func prepare(on database: any Database) async throws {
            try await database.schema(DomainCertificate.schema)
                .id()
                .field("domain_id", .uuid, .required, .references(Domain.schema, "id", onDelete: .cascade))
                .field("wildcard", .bool, .required)
                .field("status", .string, .required)
                .field("chain_pem", .string)
                .field("key_sealed", .string)
                .field("names", .array(of: .string))
                .field("not_before", .datetime)
                .field("not_after", .datetime)
                .field("renewal_id", .string)
                .field("due_at", .datetime, .required)
                .field("attempts", .int, .required)
                .field("last_error", .string)
                .field("locked_until", .datetime)
                .field("updated_at", .datetime)
                .unique(on: "domain_id")
                .create()
            try await database.schema(ACMEHTTPChallenge.schema)
                .id()
                .field("domain_id", .uuid, .required, .references(Domain.schema, "id", onDelete: .cascade))
                .field("token", .string, .required)
                .field("key_authorization", .string, .required)
                .field("expires_at", .datetime, .required)
                .create()
            try await database.schema(ACMEAccount.schema)
                .id()
                .field("directory_url", .string, .required)
                .field("key_sealed", .string, .required)
                .field("created_at", .datetime)
                .unique(on: "directory_url")
                .create()
        }
        func revert(on database: any Database) async throws {
            try await database.schema(ACMEAccount.schema).delete()
            try await database.schema(ACMEHTTPChallenge.schema).delete()
            try await database.schema(DomainCertificate.schema).delete()
        }
    }

    /// Claims moved to `job_runs` (`JobClaims`), shared by every background job.
    struct DropCertificateLocks: AsyncMigration {
        var name: String { "026_drop_certificate_locks" }
        func prepare(on database: any Database) async throws {
            // Plain SQL: SQLite (3.35 and later) and PostgreSQL both drop a column so.
            guard let sql = database as? any SQLDatabase else { return }
            try await sql.raw("ALTER TABLE domain_certificates DROP COLUMN locked_until").run()
        }
        func revert(on database: any Database) async throws {
            try await database.schema(DomainCertificate.schema).field("locked_until", .datetime).update()
        }
    }
}
