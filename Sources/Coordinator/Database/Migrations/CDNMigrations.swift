import FluentKit

/// Page rules and purges.
enum CDNMigrations {
    static var all: [any AsyncMigration] { [CreatePageRules(), CreatePurgeRequests()] }

    struct CreatePageRules: AsyncMigration {
        var name: String { "014_create_page_rules" }
        func prepare(on database: any Database) async throws {
            try await database.schema(PageRule.schema)
                .id()
                .field("domain_id", .uuid, .required, .references(Domain.schema, "id", onDelete: .cascade))
                .field("position", .int, .required)
                .field("pattern", .string, .required)
                .field("cache_level", .string)
                .field("edge_ttl", .int)
                .field("browser_ttl", .int)
                .field("forwarding_url", .string)
                .field("forwarding_status", .int)
                .field("always_https", .bool, .required)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(PageRule.schema).delete() }
    }

    struct CreatePurgeRequests: AsyncMigration {
        var name: String { "015_create_purge_requests" }
        func prepare(on database: any Database) async throws {
            try await database.schema(PurgeRequest.schema)
                .id()
                .field("domain_id", .uuid, .required, .references(Domain.schema, "id", onDelete: .cascade))
                .field("domain_name", .string, .required)
                .field("version", .int64, .required)
                .field("everything", .bool, .required)
                .field("urls", .array(of: .string), .required)
                .field("prefixes", .array(of: .string), .required)
                .field("tags", .array(of: .string), .required)
                .field("created_at", .datetime)
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(PurgeRequest.schema).delete() }
    }
}
