import DCDNCore
import FluentKit
import Foundation
import HTTPTypes

/// The one place plan limits are enforced. Every capability that creates a limited resource
/// registers how to count a user's usage of it and calls `check` before creating one.
public struct PlanLimits: Sendable {
    public typealias UsageCounter = @Sendable (_ userID: UUID, _ database: any Database) async throws -> Int64

    let store: DatabaseStore
    var counters: [PlanLimit: UsageCounter] = [:]

    public init(store: DatabaseStore) { self.store = store }

    public mutating func register(_ limit: PlanLimit, counter: @escaping UsageCounter) {
        counters[limit] = counter
    }

    /// Throws 403 `plan_limit_reached`, naming the limit, when `adding` more would exceed it.
    /// Counted on `database` — the transaction that then creates the resource, which must hold
    /// the owner (`DatabaseStore.exclusively`) so that parallel requests cannot both pass.
    public func check(_ limit: PlanLimit, for user: User, adding: Int64 = 1, on database: any Database) async throws {
        try await check(limit, for: user, used: try await counters[limit]?(user.id!, database) ?? 0, adding: adding, on: database)
    }

    /// The same, for a limit counted within one resource (page rules of one domain): the caller
    /// counts `used`. Inside a transaction, pass it as `database`: a second connection could wait
    /// on the one the transaction holds.
    public func check(_ limit: PlanLimit, for user: User, used: Int64, adding: Int64 = 1, on database: (any Database)? = nil) async throws {
        let plan = try await self.plan(of: user, on: database)
        guard let maximum = plan.limit(limit) else { return }
        guard used + adding <= maximum else {
            throw APIError(
                .forbidden, code: .planLimitReached,
                detail:
                    "Your \(plan.name) plan allows \(maximum) \(limit.title.lowercased()) (limit: \(limit.rawValue)); you have \(used). Upgrade your plan for more.",
                field: limit.rawValue)
        }
    }

    /// The same for a limit counted within one domain, under its owner's plan.
    public func check(
        _ limit: PlanLimit, within domain: Domain, used: Int64, adding: Int64 = 1, on database: (any Database)? = nil
    ) async throws {
        guard let owner = try await User.find(domain.$owner.id, on: database ?? store.db) else { throw APIError.notFound("Domain") }
        try await check(limit, for: owner, used: used, adding: adding, on: database)
    }

    public func plan(of user: User, on database: (any Database)? = nil) async throws -> Plan {
        if let plan = try await Plan.find(user.planID, on: database ?? store.db) { return plan }
        throw APIError(
            .internalServerError, code: .planMissing, detail: "Your plan \(user.planID) no longer exists; contact the operator.")
    }

    public struct Usage: Codable, Sendable {
        public var limit: String
        public var title: String
        /// nil is unlimited.
        public var maximum: Int64?
        /// nil when this installation does not measure it yet.
        public var used: Int64?
    }

    public func usage(of user: User) async throws -> (Plan, [Usage]) {
        let plan = try await self.plan(of: user)
        var rows: [Usage] = []
        for limit in PlanLimit.allCases {
            let used = try await counters[limit]?(user.id!, store.db)
            rows.append(Usage(limit: limit.rawValue, title: limit.title, maximum: plan.limit(limit), used: used))
        }
        return (plan, rows)
    }
}
