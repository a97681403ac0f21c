import DCDNCore
import FluentKit
import FluentSQL
import Foundation
import SQLKit

/// Every change to credit balances goes through here. A change locks the user's account row
/// (and the grants it touches) for its whole transaction — `SELECT … FOR UPDATE` on PostgreSQL;
/// on SQLite, money transactions run one at a time in this process and open with a write so no
/// other connection can interleave. Each change carries an idempotency key, unique per user: a
/// retry finds the transaction the first attempt made and changes nothing.
///
/// Invariants (checked by `verify()` and `dcdn admin verify-ledger`): a balance is never
/// negative and equals both the sum of its grants' `remaining` and the sum of its transactions.
public struct CreditLedger: Sendable {
    let store: DatabaseStore
    let graceSeconds: TimeInterval
    let serializer: MoneySerializer

    init(store: DatabaseStore, graceHours: Int) {
        self.store = store
        self.graceSeconds = TimeInterval(graceHours) * 3600
        self.serializer = MoneySerializer()
    }

    // MARK: Errors

    static func insufficient(needed: Int64, balance: Int64) -> APIError {
        APIError(
            .init(code: 402, reasonPhrase: "Payment Required"), code: "insufficient_credits",
            detail: "This needs \(Credits(micro: needed)) credits; the balance is \(Credits(micro: balance)).")
    }

    // MARK: Transactions

    /// Runs `body` as one money transaction (see the type's comment).
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        switch store.engine {
        case .postgres:
            return try await store.db.transaction { try await body($0) }
        case .sqlite:
            return try await serializer.run { try await store.db.transaction { try await body($0) } }
        }
    }

    // MARK: Public operations, each its own transaction

    public struct GrantRequest: Sendable {
        public var userID: UUID
        public var amount: Credits
        public var source: CreditGrant.Source
        public var category: String
        public var description: String
        public var campaign: String?
        public var expiresAt: Date?
        public var grantedBy: UUID?
        public var idempotencyKey: String

        public init(
            userID: UUID, amount: Credits, source: CreditGrant.Source, category: String, description: String, campaign: String? = nil,
            expiresAt: Date? = nil, grantedBy: UUID? = nil, idempotencyKey: String
        ) {
            self.userID = userID
            self.amount = amount
            self.source = source
            self.category = category
            self.description = description
            self.campaign = campaign
            self.expiresAt = expiresAt
            self.grantedBy = grantedBy
            self.idempotencyKey = idempotencyKey
        }
    }

    @discardableResult
    public func grant(_ request: GrantRequest, now: Date = Date()) async throws -> CreditTransaction {
        try await transaction { db in try await grant(request, on: db, now: now) }
    }

    public struct Charge: Sendable {
        /// nil when nothing could be taken (a zero balance with `partial`).
        public var transaction: CreditTransaction?
        public var charged: Credits
        /// What could not be paid (only with `partial`): the grace period has started.
        public var shortfall: Credits
    }

    /// The one way services take credits: plan renewals, VPS hours, AI tokens, GPU hours.
    /// `partial` takes what there is and starts the grace period for the rest (metered usage
    /// that already happened); otherwise too small a balance is 402 `insufficient_credits`.
    @discardableResult
    public func charge(
        _ userID: UUID, _ amount: Credits, category: String, description: String? = nil, idempotencyKey: String,
        partial: Bool = false, now: Date = Date()
    ) async throws -> Charge {
        try await transaction { db in
            try await spend(
                userID, amount.micro, category: category, description: description ?? "Service: \(category)", key: idempotencyKey,
                partial: partial, on: db, now: now)
        }
    }

    /// Charges a metered service at its price.
    @discardableResult
    public func charge(_ userID: UUID, _ usage: MeteredCharge, idempotencyKey: String, now: Date = Date()) async throws -> Charge {
        try await charge(userID, usage.amount, category: usage.category, idempotencyKey: idempotencyKey, partial: true, now: now)
    }

    /// Takes credits back: a whole grant's remainder (`grantID`) or `amount` oldest first.
    @discardableResult
    public func revoke(
        _ userID: UUID, amount: Credits?, grantID: UUID?, reason: String, idempotencyKey: String, now: Date = Date()
    ) async throws -> CreditTransaction {
        try await transaction { db in
            let account = try await lockAccount(userID, on: db)
            if let existing = try await existing(idempotencyKey, of: userID, on: db) { return existing }
            try await sweep(account, on: db, now: now)
            var grants = try await lockGrants(of: userID, on: db)
            var parts: [(index: Int, amount: Int64)]
            if let grantID {
                guard let index = grants.firstIndex(where: { $0.id == grantID }) else {
                    throw APIError.validation("grant_id", "is not an active grant of this user")
                }
                let take = amount?.micro ?? grants[index].remaining
                guard take > 0, take <= grants[index].remaining else {
                    throw APIError.validation(
                        "amount", "must be positive and at most the grant's remaining \(Credits(micro: grants[index].remaining))")
                }
                parts = [(index, take)]
            } else {
                guard let amount, amount.micro > 0 else { throw APIError.validation("amount", "must be a positive number of credits") }
                guard let allocation = CreditBook.allocate(amount.micro, from: grants.map(\.balance), now: now) else {
                    throw Self.insufficient(needed: amount.micro, balance: account.balance)
                }
                parts = allocation
            }
            let total = parts.reduce(0) { $0 + $1.amount }
            for part in parts {
                grants[part.index].remaining -= part.amount
                try await grants[part.index].save(on: db)
            }
            account.totalRevoked += total
            return try await record(
                .revoke, -total, account: account, category: "revoke", description: reason,
                grantID: parts.count == 1 ? grants[parts[0].index].id : nil, key: idempotencyKey, on: db)
        }
    }

    /// Gives back some or all of a spend as a new grant that never expires.
    @discardableResult
    public func refund(
        _ userID: UUID, spend spendID: UUID, amount: Credits?, reason: String, idempotencyKey: String, now: Date = Date()
    ) async throws -> CreditTransaction {
        try await transaction { db in
            let account = try await lockAccount(userID, on: db)
            if let existing = try await existing(idempotencyKey, of: userID, on: db) { return existing }
            guard
                let spend = try await CreditTransaction.query(on: db).filter(\.$id == spendID).filter(\.$userID == userID)
                    .filter(\.$kind == .spend).first()
            else { throw APIError.notFound("Spend transaction") }
            let refundable = -spend.amount - spend.refunded
            let micro = amount?.micro ?? refundable
            guard micro > 0, micro <= refundable else {
                throw APIError.validation("amount", "must be positive and at most the \(Credits(micro: refundable)) not yet refunded")
            }
            try await sweep(account, on: db, now: now)
            spend.refunded += micro
            try await spend.save(on: db)
            let grant = try await addGrant(
                to: account, micro: micro, source: .refund, campaign: nil, description: reason, expiresAt: nil, grantedBy: nil, on: db)
            account.totalUsed -= micro
            return try await record(
                .refund, micro, account: account, category: spend.category, description: reason, grantID: grant.id, key: idempotencyKey,
                on: db)
        }
    }

    /// Expires every grant whose time has come (the expiry job). Returns how many expired.
    @discardableResult
    public func expireDue(now: Date = Date(), batch: Int = 500) async throws -> Int {
        let due = try await CreditGrant.query(on: store.db).filter(\.$expiresAt <= now).filter(\.$remaining > 0)
            .field(\.$userID).limit(batch).all().map(\.userID)
        var expired = 0
        for userID in Set(due) {
            expired += try await transaction { db in
                try await sweep(try await lockAccount(userID, on: db), on: db, now: now)
            }
        }
        return expired
    }

    // MARK: Reading

    public struct Standing: Sendable, Equatable {
        public enum Status: String, Codable, Sendable { case active, grace, suspended }
        public var status: Status
        public var graceEndsAt: Date?
    }

    /// Whether services run: active, or in grace after the balance ran out, or suspended.
    public func standing(of account: CreditAccount?, now: Date = Date()) -> Standing {
        guard let depleted = account?.depletedAt else { return Standing(status: .active) }
        let ends = depleted.addingTimeInterval(graceSeconds)
        return Standing(status: now < ends ? .grace : .suspended, graceEndsAt: ends)
    }

    public func account(of userID: UUID) async throws -> CreditAccount? {
        try await CreditAccount.find(userID, on: store.db)
    }

    /// Grants that still hold credits and have not expired, oldest first.
    public func activeGrants(of userID: UUID, now: Date = Date()) async throws -> [CreditGrant] {
        try await CreditGrant.query(on: store.db).filter(\.$userID == userID).filter(\.$remaining > 0)
            .group(.or) { $0.filter(\.$expiresAt == nil).filter(\.$expiresAt > now) }
            .sort(\.$sequence).all()
    }

    /// Due grants are expired on read too, so a balance never shows credits that are gone.
    public func settle(_ userID: UUID, now: Date = Date()) async throws {
        let due = try await CreditGrant.query(on: store.db).filter(\.$userID == userID).filter(\.$expiresAt <= now)
            .filter(\.$remaining > 0).count()
        guard due > 0 else { return }
        _ = try await transaction { db in try await sweep(try await lockAccount(userID, on: db), on: db, now: now) }
    }

    // MARK: Building blocks for callers that hold a transaction (promo codes, payments)

    /// The user's account, locked for this transaction; created at zero the first time.
    func lockAccount(_ userID: UUID, on db: any Database) async throws -> CreditAccount {
        let sql = db as! any SQLDatabase
        // First statement is a write: on SQLite it takes the write lock before anything is read.
        try await sql.insert(into: CreditAccount.schema)
            .columns(
                "user_id", "balance_micro", "total_granted_micro", "total_used_micro", "total_expired_micro", "total_revoked_micro",
                "grant_count", "transaction_count", "created_at", "updated_at"
            )
            .values(
                SQLBind(userID), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"),
                SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLBind(Date()), SQLBind(Date())
            )
            .ignoringConflicts(with: ["user_id"]).run()
        guard
            let row = try await sql.select().column("*").from(CreditAccount.schema).where("user_id", .equal, SQLBind(userID))
                .for(.update).first()
        else { throw APIError.notFound("Credit account") }
        return try row.decode(model: CreditAccount.self)
    }

    func lockGrants(of userID: UUID, on db: any Database) async throws -> [CreditGrant] {
        let sql = db as! any SQLDatabase
        return try await sql.select().column("*").from(CreditGrant.schema)
            .where("user_id", .equal, SQLBind(userID)).where("remaining_micro", .greaterThan, SQLLiteral.numeric("0"))
            .orderBy("sequence").for(.update).all().map { try $0.decode(model: CreditGrant.self) }
    }

    func existing(_ key: String, of userID: UUID, on db: any Database) async throws -> CreditTransaction? {
        try await CreditTransaction.query(on: db).filter(\.$userID == userID).filter(\.$idempotencyKey == key).first()
    }

    func grant(_ request: GrantRequest, on db: any Database, now: Date) async throws -> CreditTransaction {
        guard request.amount.micro > 0 else { throw APIError.validation("amount", "must be a positive number of credits") }
        let account = try await lockAccount(request.userID, on: db)
        if let existing = try await existing(request.idempotencyKey, of: request.userID, on: db) { return existing }
        try await sweep(account, on: db, now: now)
        let grant = try await addGrant(
            to: account, micro: request.amount.micro, source: request.source, campaign: request.campaign,
            description: request.description, expiresAt: request.expiresAt, grantedBy: request.grantedBy, on: db)
        account.totalGranted += request.amount.micro
        account.depletedAt = nil
        return try await record(
            .grant, request.amount.micro, account: account, category: request.category, description: request.description,
            grantID: grant.id, key: request.idempotencyKey, on: db)
    }

    func spend(
        _ userID: UUID, _ micro: Int64, category: String, description: String, key: String, partial: Bool, on db: any Database,
        now: Date
    ) async throws -> Charge {
        guard micro > 0 else { throw APIError.validation("amount", "must be a positive number of credits") }
        let account = try await lockAccount(userID, on: db)
        if let existing = try await existing(key, of: userID, on: db) {
            return Charge(transaction: existing, charged: Credits(micro: -existing.amount), shortfall: .zero)
        }
        try await sweep(account, on: db, now: now)
        let grants = try await lockGrants(of: userID, on: db)
        let available = CreditBook.spendable(grants.map(\.balance), now: now)
        guard available >= micro || partial else { throw Self.insufficient(needed: micro, balance: account.balance) }
        let take = min(micro, available)
        let shortfall = micro - take
        if shortfall > 0, account.depletedAt == nil { account.depletedAt = now }
        guard take > 0 else {
            try await account.save(on: db)
            return Charge(transaction: nil, charged: .zero, shortfall: Credits(micro: shortfall))
        }
        for part in CreditBook.allocate(take, from: grants.map(\.balance), now: now)! {
            grants[part.index].remaining -= part.amount
            try await grants[part.index].save(on: db)
        }
        account.totalUsed += take
        let transaction = try await record(
            .spend, -take, account: account, category: category, description: description, grantID: nil, key: key, on: db)
        try await TokenMint.record(TokenMintSplit(total: take), userID: userID, source: .credits, reference: transaction.id!, on: db)
        return Charge(transaction: transaction, charged: Credits(micro: take), shortfall: Credits(micro: shortfall))
    }

    /// Expires the account's due grants; returns how many.
    @discardableResult
    func sweep(_ account: CreditAccount, on db: any Database, now: Date) async throws -> Int {
        let sql = db as! any SQLDatabase
        let due = try await sql.select().column("*").from(CreditGrant.schema)
            .where("user_id", .equal, SQLBind(account.id!)).where("remaining_micro", .greaterThan, SQLLiteral.numeric("0"))
            .where("expires_at", .lessThanOrEqual, SQLBind(now)).orderBy("sequence").for(.update).all()
            .map { try $0.decode(model: CreditGrant.self) }
        for grant in due {
            let amount = grant.remaining
            grant.remaining = 0
            try await grant.save(on: db)
            account.totalExpired += amount
            _ = try await record(
                .expire, -amount, account: account, category: grant.campaign.map { "expired:\($0)" } ?? "expired",
                description: "Credits expired: \(grant.description)", grantID: grant.id, key: "expire:\(grant.id!)", on: db)
        }
        return due.count
    }

    private func addGrant(
        to account: CreditAccount, micro: Int64, source: CreditGrant.Source, campaign: String?, description: String, expiresAt: Date?,
        grantedBy: UUID?, on db: any Database
    ) async throws -> CreditGrant {
        account.grantCount += 1
        let grant = CreditGrant()
        grant.userID = account.id!
        grant.sequence = account.grantCount
        grant.amount = micro
        grant.remaining = micro
        grant.source = source
        grant.campaign = campaign
        grant.description = description
        grant.expiresAt = expiresAt
        grant.grantedBy = grantedBy
        try await grant.create(on: db)
        return grant
    }

    /// Appends a transaction and saves the account with its new balance.
    private func record(
        _ kind: CreditTransaction.Kind, _ amount: Int64, account: CreditAccount, category: String, description: String, grantID: UUID?,
        key: String, on db: any Database
    ) async throws -> CreditTransaction {
        account.balance += amount
        precondition(account.balance >= 0, "a credit balance went negative")
        account.transactionCount += 1
        let transaction = CreditTransaction()
        transaction.userID = account.id!
        transaction.sequence = account.transactionCount
        transaction.kind = kind
        transaction.amount = amount
        transaction.balanceAfter = account.balance
        transaction.category = String(category.prefix(200))
        transaction.description = String(description.prefix(500))
        transaction.grantID = grantID
        transaction.idempotencyKey = key
        transaction.refunded = 0
        try await transaction.create(on: db)
        try await account.save(on: db)
        return transaction
    }
}

/// Runs SQLite money transactions one at a time (PostgreSQL locks rows instead).
final class MoneySerializer: Sendable {
    private let gate = Gate()

    private actor Gate {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []

        func enter() async {
            if !busy {
                busy = true
                return
            }
            await withCheckedContinuation { waiters.append($0) }
        }

        func leave() {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
    }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await gate.enter()
        do {
            let result = try await body()
            await gate.leave()
            return result
        } catch {
            await gate.leave()
            throw error
        }
    }
}
