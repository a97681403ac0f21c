import FluentKit

/// Firewall settings, attacks and the traffic breakdowns of the DDoS page.
enum SecurityMigrations {
    static var all: [any AsyncMigration] { [CreateDomainSecurity(), CreateAttacks(), CreateTrafficBreakdowns()] }

    struct CreateDomainSecurity: AsyncMigration {
        var name: String { "017_create_domain_security" }
        func prepare(on database: any Database) async throws {
            try await database.schema(DomainSecurity.schema)
                .id()
                .field("domain_id", .uuid, .required, .references(Domain.schema, "id", onDelete: .cascade))
                .field("ip_allow", .array(of: .string), .required)
                .field("ip_block", .array(of: .string), .required)
                .field("country_allow", .array(of: .string), .required)
                .field("country_block", .array(of: .string), .required)
                .field("waf_sensitivity", .string, .required)
                .field("clearance_minutes", .int, .required)
                .field("rate_limits", .string, .required)
                .field("firewall_rules", .string, .required)
                .field("updated_at", .datetime)
                .unique(on: "domain_id")
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(DomainSecurity.schema).delete() }
    }

    struct CreateAttacks: AsyncMigration {
        var name: String { "018_create_attacks" }
        func prepare(on database: any Database) async throws {
            try await database.schema(AttackRecord.schema)
                .id()
                .field("domain_name", .string)
                .field("type", .string, .required)
                .field("severity", .string, .required)
                .field("peak_rps", .int, .required)
                .field("requests", .int64, .required)
                .field("source_ips", .array(of: .string), .required)
                .field("source_countries", .array(of: .string), .required)
                .field("mitigation", .string, .required)
                .field("started_at", .datetime, .required)
                .field("ended_at", .datetime)
                .field("reports", .array(of: .string), .required)
                .field("nodes", .array(of: .string), .required)
                .field("updated_at", .datetime)
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(AttackRecord.schema).delete() }
    }

    struct CreateTrafficBreakdowns: AsyncMigration {
        var name: String { "019_create_traffic_breakdowns" }
        func prepare(on database: any Database) async throws {
            try await database.schema(TrafficBreakdown.schema)
                .id()
                .field("domain_name", .string, .required)
                .field("hour", .datetime, .required)
                .field("dimension", .string, .required)
                .field("key", .string, .required)
                .field("requests", .int64, .required)
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(TrafficBreakdown.schema).delete() }
    }
}
