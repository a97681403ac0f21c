import DCDNCore
import FluentKit

/// Changes to the plans after the foundation.
enum PlanMigrations {
    /// Page rules, rate limits and firewall rules per domain became plan data: existing plans get
    /// the caps DCDN enforced before, so nothing changes until an admin edits them.
    struct SeedPerDomainLimits: AsyncMigration {
        var name: String { "023_per_domain_plan_limits" }
        func prepare(on database: any Database) async throws {
            for plan in try await Plan.query(on: database).all() {
                var changed = false
                for (limit, value) in PlanCatalog.perDomainLimits where plan.limits[limit.rawValue] == nil {
                    plan.limits[limit.rawValue] = value
                    changed = true
                }
                if changed { try await plan.save(on: database) }
            }
        }
        func revert(on database: any Database) async throws {
            for plan in try await Plan.query(on: database).all() {
                for limit in PlanCatalog.perDomainLimits.keys { plan.limits.removeValue(forKey: limit.rawValue) }
                try await plan.save(on: database)
            }
        }
    }
}
