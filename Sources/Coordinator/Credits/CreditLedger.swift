import DCDNCore
import FluentKit
import FluentSQL
import Foundation
import HTTPTypes
import SQLKit

/// Every change to credit balances goes through here. A change locks the user's account row
/// (and the grants it touches) for its whole transaction — `SELECT … FOR UPDATE` on PostgreSQL;
/// on SQLite, money transactions run one at a time in this process and open with a write so no
/// other connection can interleave. Each change carries an idempotency key, unique per user: a
/// retry finds the transaction the first attempt made and changes nothing.
///
/// Invariants (checked by `LedgerAudit` and `dcdn admin verify-ledger`): a balance is never
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
            .init(code: 402, reasonPhrase: "Payment Required"), code: .insufficientCredits,
            detail: "This needs \(Credits(micro: needed)) credits; the balance is \(Credits(micro: balance)).")
    }

    // MARK: Transactions

    /// Runs `body` as one money transaction (see the type's comment).
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        switch store.engine {
        case .postgres:
            return try await store.db.transaction { try await body($0) }
        case .sqlite:
            return try await serializer.run {
                try await store.db.transaction { db in
                    // Writers outside the serializer (idempotency keys, webhook events) commit meanwhile.
                    try await DatabaseStore.writeFirst(on: db)
                    return try await body(db)
                }
            }
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
            var account = try await lockAccount(userID, on: db)
            if let existing = try await existing(idempotencyKey, of: userID, on: db) { return existing }
            var grants = try await lockGrants(of: userID, on: db)
            try await expire(&account, &grants, on: db, now: now)
            var parts: [(index: Int, amount: Int64)]
            if let grantID {
                guard let index = grants.firstIndex(where: { $0.id == grantID && $0.remainingMicro > 0 }) else {
                    throw APIError.validation("grant_id", "is not an active grant of this user")
                }
                let take = amount?.micro ?? grants[index].remainingMicro
                guard take > 0, take <= grants[index].remainingMicro else {
                    throw APIError.validation(
                        "amount", "must be positive and at most the grant's remaining \(Credits(micro: grants[index].remainingMicro))")
                }
                parts = [(index, take)]
            } else {
                guard let amount, amount.micro > 0 else { throw APIError.validation("amount", "must be a positive number of credits") }
                guard let allocation = CreditBook.allocate(amount.micro, from: grants.map(\.balance), now: now) else {
                    throw Self.insufficient(needed: amount.micro, balance: account.balanceMicro)
                }
                parts = allocation
            }
            let total = parts.reduce(0) { $0 + $1.amount }
            for part in parts { try await take(part.amount, from: &grants[part.index], on: db) }
            account.totalRevokedMicro += total
            let transaction = try await record(
                .revoke, -total, account: &account, category: "revoke", description: reason,
                grantID: parts.count == 1 ? grants[parts[0].index].id : nil, key: idempotencyKey, on: db, now: now)
            try await save(account, on: db, now: now)
            return transaction
        }
    }

    /// Gives back some or all of a spend as a new grant that never expires.
    @discardableResult
    public func refund(
        _ userID: UUID, spend spendID: UUID, amount: Credits?, reason: String, idempotencyKey: String, now: Date = Date()
    ) async throws -> CreditTransaction {
        try await transaction { db in
            var account = try await lockAccount(userID, on: db)
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
            var grants = try await lockGrants(of: userID, on: db)
            try await expire(&account, &grants, on: db, now: now)
            spend.refunded += micro
            try await spend.save(on: db)
            let grantID = try await addGrant(
                to: &account, micro: micro, source: .refund, campaign: nil, description: reason, expiresAt: nil, grantedBy: nil, on: db,
                now: now)
            account.totalUsedMicro -= micro
            let transaction = try await record(
                .refund, micro, account: &account, category: spend.category, description: reason, grantID: grantID, key: idempotencyKey,
                on: db, now: now)
            try await save(account, on: db, now: now)
            return transaction
        }
    }

    /// Expires every grant whose time has come (the expiry job). Each grant is one item of
    /// `round` (its id), so that of several replicas one expires it. Returns how many expired.
    @discardableResult
    public func expireDue(now: Date = Date(), batch: Int = 500, round: JobRound? = nil) async throws -> Int {
        // A second of margin: the exact decision is made under the lock (`CreditBook.due`).
        let due = try await CreditGrant.query(on: store.db).filter(\.$expiresAt <= now.addingTimeInterval(1)).filter(\.$remaining > 0)
            .field(\.$id).field(\.$userID).limit(batch).all()
        var expired = 0
        for grant in due {
            try await round.run(grant.id!.uuidString) {
                expired += try await transaction { db in try await expireDue(of: grant.userID, on: db, now: now) }
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
        let due = try await CreditGrant.query(on: store.db).filter(\.$userID == userID).filter(\.$expiresAt <= now.addingTimeInterval(1))
            .filter(\.$remaining > 0).count()
        guard due > 0 else { return }
        _ = try await transaction { db in try await expireDue(of: userID, on: db, now: now) }
    }

    // MARK: Building blocks for callers that hold a transaction (promo codes, payments)

    // The hot path reads and writes plain rows through SQLKit: Fluent's models find their
    // fields by reflection on every use, which cost more than the database round trips.

    // Rows are read column by column, the way Fluent reads them: decoding a whole struct with
    // Codable would read SQLite's stored times as seconds since 2001 rather than 1970.

    struct AccountRow {
        var userId: UUID
        var balanceMicro: Int64
        var totalGrantedMicro: Int64
        var totalUsedMicro: Int64
        var totalExpiredMicro: Int64
        var totalRevokedMicro: Int64
        var grantCount: Int64
        var transactionCount: Int64
        var depletedAt: Date?

        init(_ row: any SQLRow) throws {
            userId = try row.decode(column: "user_id", as: UUID.self)
            balanceMicro = try row.decode(column: "balance_micro", as: Int64.self)
            totalGrantedMicro = try row.decode(column: "total_granted_micro", as: Int64.self)
            totalUsedMicro = try row.decode(column: "total_used_micro", as: Int64.self)
            totalExpiredMicro = try row.decode(column: "total_expired_micro", as: Int64.self)
            totalRevokedMicro = try row.decode(column: "total_revoked_micro", as: Int64.self)
            grantCount = try row.decode(column: "grant_count", as: Int64.self)
            transactionCount = try row.decode(column: "transaction_count", as: Int64.self)
            depletedAt = try row.decode(column: "depleted_at", as: Date?.self)
        }
    }

    struct GrantRow {
        var id: UUID
        var remainingMicro: Int64
        var campaign: String?
        var description: String
        var expiresAt: Date?

        init(_ row: any SQLRow) throws {
            id = try row.decode(column: "id", as: UUID.self)
            remainingMicro = try row.decode(column: "remaining_micro", as: Int64.self)
            campaign = try row.decode(column: "campaign", as: String?.self)
            description = try row.decode(column: "description", as: String.self)
            expiresAt = try row.decode(column: "expires_at", as: Date?.self)
        }

        var balance: GrantBalance { GrantBalance(id: id, remaining: remainingMicro, expiresAt: expiresAt) }
    }

    /// The user's account, locked for this transaction; created at zero the first time.
    func lockAccount(_ userID: UUID, on db: any Database) async throws -> AccountRow {
        let sql = db.sql
        func locked() async throws -> AccountRow? {
            try await sql.select().column("*").from(CreditAccount.schema).where("user_id", .equal, userID).for(.update).first()
                .map(AccountRow.init)
        }
        // On SQLite the first statement is a write, so the transaction holds the write lock
        // before it reads anything; on PostgreSQL the row lock is enough.
        if store.engine == .postgres, let account = try await locked() { return account }
        let now = Date()
        // The account belongs to a user: an ID of no user fails the foreign key, and is a 404.
        do {
            try await sql.insert(into: CreditAccount.schema)
                .columns(
                    "user_id", "balance_micro", "total_granted_micro", "total_used_micro", "total_expired_micro", "total_revoked_micro",
                    "grant_count", "transaction_count", "created_at", "updated_at"
                )
                .values(
                    SQLBind(userID), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"),
                    SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLLiteral.numeric("0"), SQLBind(now), SQLBind(now)
                )
                .ignoringConflicts(with: ["user_id"]).run()
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw APIError.notFound("User")
        }
        guard let account = try await locked() else { throw APIError.notFound("Credit account") }
        return account
    }

    /// The grants that still hold credits, oldest first, locked.
    func lockGrants(of userID: UUID, on db: any Database) async throws -> [GrantRow] {
        try await db.sql.select().columns("id", "remaining_micro", "campaign", "description", "expires_at")
            .from(CreditGrant.schema).where("user_id", .equal, userID).where("remaining_micro", .greaterThan, SQLLiteral.numeric("0"))
            .orderBy("sequence").for(.update).all().map(GrantRow.init)
    }

    /// The transaction an earlier call with this key made, if any.
    func existing(_ key: String, of userID: UUID, on db: any Database) async throws -> CreditTransaction? {
        guard
            let row = try await db.sql.select().column("id").from(CreditTransaction.schema).where("user_id", .equal, userID)
                .where("idempotency_key", .equal, key).first()
        else { return nil }
        return try await CreditTransaction.find(try row.decode(column: "id", as: UUID.self), on: db)
    }

    func grant(_ request: GrantRequest, on db: any Database, now: Date) async throws -> CreditTransaction {
        guard request.amount.micro > 0 else { throw APIError.validation("amount", "must be a positive number of credits") }
        var account = try await lockAccount(request.userID, on: db)
        if let existing = try await existing(request.idempotencyKey, of: request.userID, on: db) { return existing }
        try await expireDue(&account, on: db, now: now)
        let grantID = try await addGrant(
            to: &account, micro: request.amount.micro, source: request.source, campaign: request.campaign,
            description: request.description, expiresAt: request.expiresAt, grantedBy: request.grantedBy, on: db, now: now)
        account.totalGrantedMicro += request.amount.micro
        account.depletedAt = nil
        let transaction = try await record(
            .grant, request.amount.micro, account: &account, category: request.category, description: request.description,
            grantID: grantID, key: request.idempotencyKey, on: db, now: now)
        try await save(account, on: db, now: now)
        return transaction
    }

    func spend(
        _ userID: UUID, _ micro: Int64, category: String, description: String, key: String, partial: Bool, on db: any Database,
        now: Date
    ) async throws -> Charge {
        guard micro > 0 else { throw APIError.validation("amount", "must be a positive number of credits") }
        var account = try await lockAccount(userID, on: db)
        if let existing = try await existing(key, of: userID, on: db) {
            return Charge(transaction: existing, charged: Credits(micro: -existing.amount), shortfall: .zero)
        }
        var grants = try await lockGrants(of: userID, on: db)
        try await expire(&account, &grants, on: db, now: now)
        let available = CreditBook.spendable(grants.map(\.balance), now: now)
        guard available >= micro || partial else { throw Self.insufficient(needed: micro, balance: account.balanceMicro) }
        let take = min(micro, available)
        let shortfall = micro - take
        if shortfall > 0, account.depletedAt == nil { account.depletedAt = now }
        guard take > 0 else {
            try await save(account, on: db, now: now)
            return Charge(transaction: nil, charged: .zero, shortfall: Credits(micro: shortfall))
        }
        for part in CreditBook.allocate(take, from: grants.map(\.balance), now: now)! {
            try await self.take(part.amount, from: &grants[part.index], on: db)
        }
        account.totalUsedMicro += take
        let transaction = try await record(
            .spend, -take, account: &account, category: category, description: description, grantID: nil, key: key, on: db, now: now)
        try await save(account, on: db, now: now)
        try await TokenMint.record(TokenMintSplit(total: take), userID: userID, source: .credits, reference: transaction.id!, on: db)
        return Charge(transaction: transaction, charged: Credits(micro: take), shortfall: Credits(micro: shortfall))
    }

    /// Locks the account and expires its due grants; returns how many (the expiry job, reads).
    func expireDue(of userID: UUID, on db: any Database, now: Date) async throws -> Int {
        var account = try await lockAccount(userID, on: db)
        let expired = try await expireDue(&account, on: db, now: now)
        if expired > 0 { try await save(account, on: db, now: now) }
        return expired
    }

    @discardableResult
    private func expireDue(_ account: inout AccountRow, on db: any Database, now: Date) async throws -> Int {
        var grants = try await lockGrants(of: account.userId, on: db)
        return try await expire(&account, &grants, on: db, now: now)
    }

    /// Expires the due grants among `grants` (locked by the caller); returns how many.
    @discardableResult
    private func expire(_ account: inout AccountRow, _ grants: inout [GrantRow], on db: any Database, now: Date) async throws -> Int {
        let due = CreditBook.due(grants.map(\.balance), now: now)
        for index in due {
            let amount = grants[index].remainingMicro
            try await take(amount, from: &grants[index], on: db)
            account.totalExpiredMicro += amount
            _ = try await record(
                .expire, -amount, account: &account, category: grants[index].campaign.map { "expired:\($0)" } ?? "expired",
                description: "Credits expired: \(grants[index].description)", grantID: grants[index].id, key: "expire:\(grants[index].id)",
                on: db, now: now)
        }
        return due.count
    }

    private func take(_ amount: Int64, from grant: inout GrantRow, on db: any Database) async throws {
        grant.remainingMicro -= amount
        precondition(grant.remainingMicro >= 0, "a grant went below zero")
        try await db.sql.update(CreditGrant.schema).set("remaining_micro", to: grant.remainingMicro).where("id", .equal, grant.id).run()
    }

    private func addGrant(
        to account: inout AccountRow, micro: Int64, source: CreditGrant.Source, campaign: String?, description: String, expiresAt: Date?,
        grantedBy: UUID?, on db: any Database, now: Date
    ) async throws -> UUID {
        account.grantCount += 1
        let id = UUID()
        try await db.sql.insert(into: CreditGrant.schema)
            .columns(
                "id", "user_id", "sequence", "amount_micro", "remaining_micro", "source", "campaign", "description", "expires_at",
                "granted_by",
                "created_at"
            )
            .values(
                SQLBind(id), SQLBind(account.userId), SQLBind(account.grantCount), SQLBind(micro), SQLBind(micro), SQLBind(source.rawValue),
                SQLBind(campaign), SQLBind(String(description.prefix(500))), SQLBind(expiresAt.map(CreditBook.expiry)), SQLBind(grantedBy),
                SQLBind(now)
            ).run()
        return id
    }

    /// Appends a transaction at the account's new balance (the caller saves the account).
    private func record(
        _ kind: CreditTransaction.Kind, _ amount: Int64, account: inout AccountRow, category: String, description: String, grantID: UUID?,
        key: String, on db: any Database, now: Date
    ) async throws -> CreditTransaction {
        account.balanceMicro += amount
        precondition(account.balanceMicro >= 0, "a credit balance went negative")
        account.transactionCount += 1
        let transaction = CreditTransaction()
        transaction.id = UUID()
        transaction.userID = account.userId
        transaction.sequence = account.transactionCount
        transaction.kind = kind
        transaction.amount = amount
        transaction.balanceAfter = account.balanceMicro
        transaction.category = String(category.prefix(200))
        transaction.description = String(description.prefix(500))
        transaction.grantID = grantID
        transaction.idempotencyKey = key
        transaction.refunded = 0
        transaction.createdAt = now
        try await db.sql.insert(into: CreditTransaction.schema)
            .columns(
                "id", "user_id", "sequence", "tx_type", "amount_micro", "balance_after_micro", "category", "description", "grant_id",
                "idempotency_key", "refunded_micro", "created_at"
            )
            .values(
                SQLBind(transaction.id!), SQLBind(account.userId), SQLBind(transaction.sequence), SQLBind(kind.rawValue), SQLBind(amount),
                SQLBind(transaction.balanceAfter), SQLBind(transaction.category), SQLBind(transaction.description), SQLBind(grantID),
                SQLBind(key), SQLLiteral.numeric("0"), SQLBind(now)
            ).run()
        return transaction
    }

    private func save(_ account: AccountRow, on db: any Database, now: Date) async throws {
        try await db.sql.update(CreditAccount.schema)
            .set("balance_micro", to: account.balanceMicro).set("total_granted_micro", to: account.totalGrantedMicro)
            .set("total_used_micro", to: account.totalUsedMicro).set("total_expired_micro", to: account.totalExpiredMicro)
            .set("total_revoked_micro", to: account.totalRevokedMicro).set("grant_count", to: account.grantCount)
            .set("transaction_count", to: account.transactionCount).set("depleted_at", to: account.depletedAt).set("updated_at", to: now)
            .where("user_id", .equal, account.userId).run()
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
