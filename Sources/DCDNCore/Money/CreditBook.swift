import Foundation

/// One grant's spendable state, as the ledger sees it under lock: oldest first.
public struct GrantBalance: Sendable, Equatable {
    public var id: UUID
    public var remaining: Int64
    /// nil never expires (the default).
    public var expiresAt: Date?

    public init(id: UUID, remaining: Int64, expiresAt: Date?) {
        self.id = id
        self.remaining = remaining
        self.expiresAt = expiresAt
    }

    public func isExpired(at now: Date) -> Bool { expiresAt.map { $0 <= now } ?? false }
}

/// The ledger's rules over a user's grants, free of storage: FIFO spending and expiry. The
/// database ledger applies these to the rows it has locked; property tests check them against
/// the invariants directly.
public enum CreditBook {
    /// Which grants a spend of `amount` takes from, oldest first, skipping empty and expired ones;
    /// nil when they hold less than `amount` (a balance never goes negative).
    public static func allocate(_ amount: Int64, from grants: [GrantBalance], now: Date) -> [(index: Int, amount: Int64)]? {
        precondition(amount >= 0)
        var left = amount
        var parts: [(index: Int, amount: Int64)] = []
        for (index, grant) in grants.enumerated() where left > 0 && grant.remaining > 0 && !grant.isExpired(at: now) {
            let take = min(left, grant.remaining)
            parts.append((index, take))
            left -= take
        }
        return left == 0 ? parts : nil
    }

    /// Grants whose expiry has come and that still hold credits.
    public static func due(_ grants: [GrantBalance], now: Date) -> [Int] {
        grants.indices.filter { grants[$0].remaining > 0 && grants[$0].isExpired(at: now) }
    }

    /// An expiry instant as the ledger keeps it: whole seconds, so every database stores and
    /// compares it exactly (fractions of a second drift through SQLite's floating-point times).
    public static func expiry(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// What can be spent now.
    public static func spendable(_ grants: [GrantBalance], now: Date) -> Int64 {
        grants.filter { !$0.isExpired(at: now) }.reduce(0) { $0 + $1.remaining }
    }
}
