import FluentKit

/// Domains, DNS records, nodes and the configuration they sync.
enum DomainMigrations {
    static var all: [any AsyncMigration] {
        [
            CreateConfigState(), CreateNodes(), CreateDomains(), CreateRecords(), CreateTombstones(), CreateTrafficCounters(),
            CreateChallenges(), AddNodeHostnames(),
        ]
    }

    struct CreateConfigState: AsyncMigration {
        var name: String { "007_create_config_state" }
        func prepare(on database: any Database) async throws {
            try await database.schema(ConfigState.schema).field("id", .int, .identifier(auto: false)).field("version", .int64, .required)
                .create()
            try await ConfigState(id: 1, version: 1).create(on: database)
        }
        func revert(on database: any Database) async throws { try await database.schema(ConfigState.schema).delete() }
    }

    struct CreateNodes: AsyncMigration {
        var name: String { "008_create_nodes" }
        func prepare(on database: any Database) async throws {
            try await database.schema(Node.schema)
                .id()
                .field("name", .string, .required)
                .field("roles", .array(of: .string), .required)
                .field("region", .string, .required)
                .field("country", .string, .required)
                .field("latitude", .double)
                .field("longitude", .double)
                .field("ipv4", .string)
                .field("ipv6", .string)
                .field("capacity", .int, .required)
                .field("token_hash", .string, .required)
                .field("ip_allowlist", .array(of: .string), .required)
                .field("healthy", .bool, .required)
                .field("last_heartbeat_at", .datetime)
                .field("config_version_seen", .int64)
                .field("created_at", .datetime)
                .unique(on: "name")
                .unique(on: "token_hash")
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(Node.schema).delete() }
    }

    struct AddNodeHostnames: AsyncMigration {
        var name: String { "027_add_node_hostnames" }
        func prepare(on database: any Database) async throws {
            try await database.schema(Node.schema).field("hostname", .string).update()
        }
        func revert(on database: any Database) async throws { try await database.schema(Node.schema).deleteField("hostname").update() }
    }

    struct CreateDomains: AsyncMigration {
        var name: String { "009_create_domains" }
        func prepare(on database: any Database) async throws {
            try await database.schema(Domain.schema)
                .id()
                .field("user_id", .uuid, .required, .references(User.schema, "id", onDelete: .cascade))
                .field("name", .string, .required)
                .field("origin", .string, .required)
                .field("status", .string, .required)
                .field("ssl_mode", .string, .required)
                .field("cache_level", .string, .required)
                .field("browser_ttl", .int, .required)
                .field("edge_ttl", .int, .required)
                .field("dev_mode_until", .datetime)
                .field("under_attack", .bool, .required)
                .field("multi_node_redundancy", .bool, .required)
                .field("dns_fallback", .bool, .required)
                .field("config_version", .int64, .required)
                .field("activated_at", .datetime)
                .field("delegation_checked_at", .datetime)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .unique(on: "name")
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(Domain.schema).delete() }
    }

    struct CreateRecords: AsyncMigration {
        var name: String { "010_create_dns_records" }
        func prepare(on database: any Database) async throws {
            try await database.schema(DomainRecord.schema)
                .id()
                .field("domain_id", .uuid, .required, .references(Domain.schema, "id", onDelete: .cascade))
                .field("name", .string, .required)
                .field("type", .string, .required)
                .field("content", .string, .required)
                .field("ttl", .int, .required)
                .field("priority", .int)
                .field("proxied", .bool, .required)
                .field("created_at", .datetime)
                .field("updated_at", .datetime)
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(DomainRecord.schema).delete() }
    }

    struct CreateTombstones: AsyncMigration {
        var name: String { "011_create_domain_tombstones" }
        func prepare(on database: any Database) async throws {
            try await database.schema(DomainTombstone.schema)
                .id().field("domain_id", .uuid, .required).field("version", .int64, .required).field("created_at", .datetime).create()
        }
        func revert(on database: any Database) async throws { try await database.schema(DomainTombstone.schema).delete() }
    }

    struct CreateTrafficCounters: AsyncMigration {
        var name: String { "012_create_traffic_counters" }
        func prepare(on database: any Database) async throws {
            try await database.schema(TrafficCounter.schema)
                .id()
                .field("domain_name", .string, .required)
                .field("minute", .datetime, .required)
                .field("requests", .int64, .required)
                .field("bytes", .int64, .required)
                .field("cache_hits", .int64, .required)
                .field("status_2xx", .int64, .required)
                .field("status_3xx", .int64, .required)
                .field("status_4xx", .int64, .required)
                .field("status_5xx", .int64, .required)
                .field("blocked", .int64, .required)
                .field("challenged", .int64, .required)
                .unique(on: "domain_name", "minute")
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(TrafficCounter.schema).delete() }
    }

    struct CreateChallenges: AsyncMigration {
        var name: String { "013_create_dns_challenges" }
        func prepare(on database: any Database) async throws {
            try await database.schema(DNSChallenge.schema)
                .id()
                .field("domain_id", .uuid, .required, .references(Domain.schema, "id", onDelete: .cascade))
                .field("name", .string, .required)
                .field("value", .string, .required)
                .field("expires_at", .datetime, .required)
                .create()
        }
        func revert(on database: any Database) async throws { try await database.schema(DNSChallenge.schema).delete() }
    }
}
