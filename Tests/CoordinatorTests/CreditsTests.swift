import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import PropertyBased
import SQLKit
import Synchronization
import Testing

@testable import Coordinator

final class Tally: Sendable {
    let redeemed = Mutex(0)
    let spent = Mutex<Int64>(0)
}

@Suite("Credit ledger")
struct CreditsTests {
    /// A user row straight in the database (ledger tests need no sign-in).
    static func user(_ app: TestApp, _ email: String = "u\(UUID().uuidString.prefix(8))@example.com") async throws -> UUID {
        let user = User(email: email, passwordHash: nil, role: .user, planID: "free")
        try await user.create(on: app.coordinator.store.db)
        return user.id!
    }

    static func expectConsistent(_ app: TestApp, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let report = try await LedgerAudit(store: app.coordinator.store).run()
        #expect(report.problems == [], sourceLocation: sourceLocation)
    }

    @Test("spends take from the oldest grant first, never below zero, once per idempotency key")
    func fifoSpends() async throws {
        try await TestApp.run { app, _ in
            let ledger = app.coordinator.ledger
            let user = try await Self.user(app)
            let first = try await ledger.grant(
                .init(userID: user, amount: Credits(10), source: .admin, category: "grant", description: "first", idempotencyKey: "g1"))
            try await ledger.grant(
                .init(userID: user, amount: Credits(5), source: .admin, category: "grant", description: "second", idempotencyKey: "g2"))
            // The same key again changes nothing.
            let again = try await ledger.grant(
                .init(userID: user, amount: Credits(10), source: .admin, category: "grant", description: "first", idempotencyKey: "g1"))
            #expect(again.id == first.id)

            let charge = try await ledger.charge(user, Credits(12), category: "VPS: nano (web)", idempotencyKey: "s1")
            #expect(charge.charged == Credits(12) && charge.transaction?.balanceAfter == Credits(3).micro)
            let grants = try await ledger.activeGrants(of: user)
            #expect(grants.map(\.remaining) == [Credits(3).micro], "the first grant is emptied, then 2 from the second")
            #expect(grants.first?.description == "second")
            let replay = try await ledger.charge(user, Credits(12), category: "VPS: nano (web)", idempotencyKey: "s1")
            #expect(replay.transaction?.id == charge.transaction?.id)

            await #expect(throws: APIError.self) { try await ledger.charge(user, Credits(4), category: "x", idempotencyKey: "s2") }
            // Metered usage that already happened takes what is left and starts the grace period.
            let partial = try await ledger.charge(
                user, MeteredCharge.gpu(node: "g", hourlyPrice: Credits(4), seconds: 3600), idempotencyKey: "s3")
            #expect(partial.charged == Credits(3) && partial.shortfall == Credits(1))
            let account = try #require(try await ledger.account(of: user))
            #expect(account.balance == 0 && ledger.standing(of: account).status == .grace)
            #expect(ledger.standing(of: account, now: Date().addingTimeInterval(73 * 3600)).status == .suspended)
            // A grant ends the grace period.
            try await ledger.grant(
                .init(userID: user, amount: Credits(1), source: .admin, category: "grant", description: "top-up", idempotencyKey: "g3"))
            #expect(ledger.standing(of: try await ledger.account(of: user)).status == .active)
            // Every spend minted tokens with the 70/25/5 split.
            let mints = try await TokenMint.query(on: app.coordinator.store.db).filter(\.$userID == user).all()
            #expect(mints.map(\.amount).sorted() == [Credits(3).micro, Credits(12).micro])
            #expect(mints.allSatisfy { $0.source == .credits && $0.nodeRewardPool * 10 == $0.amount * 7 })
            try await Self.expectConsistent(app)
        }
    }

    @Test("the audit names each corruption: a balance, a grant's remainder, a balance_after, a mint's split")
    func auditFindsCorruption() async throws {
        try await TestApp.run { app, _ in
            let ledger = app.coordinator.ledger
            let user = try await Self.user(app)
            _ = try await ledger.grant(
                .init(userID: user, amount: Credits(10), source: .admin, category: "grant", description: "top-up", idempotencyKey: "g"))
            _ = try await ledger.charge(user, Credits(3), category: "cdn", idempotencyKey: "c")
            try await Self.expectConsistent(app)
            let sql = try #require(app.coordinator.store.db as? any SQLDatabase)
            let audit = LedgerAudit(store: app.coordinator.store)
            let name = user.uuidString
            // Each corruption, then its repair: the audit names what is wrong, and only that.
            let corruptions: [(break: String, repair: String, named: String)] = [
                (
                    "UPDATE credit_accounts SET balance_micro = balance_micro + 1",
                    "UPDATE credit_accounts SET balance_micro = balance_micro - 1",
                    "\(name): balance 7.000001 ≠ grants' remaining 7"
                ),
                (
                    "UPDATE credit_grants SET remaining_micro = remaining_micro - 5",
                    "UPDATE credit_grants SET remaining_micro = remaining_micro + 5",
                    "\(name): balance 7 ≠ grants' remaining 6.999995"
                ),
                (
                    "UPDATE credit_transactions SET balance_after_micro = balance_after_micro + 2 WHERE sequence = (SELECT MAX(sequence) FROM credit_transactions)",
                    "UPDATE credit_transactions SET balance_after_micro = balance_after_micro - 2 WHERE sequence = (SELECT MAX(sequence) FROM credit_transactions)",
                    "\(name): last balance_after 7.000002 ≠ balance"
                ),
                (
                    "UPDATE token_mints SET node_reward_pool_micro = node_reward_pool_micro + 1, lp_treasury_micro = lp_treasury_micro - 1",
                    "UPDATE token_mints SET node_reward_pool_micro = node_reward_pool_micro - 1, lp_treasury_micro = lp_treasury_micro + 1",
                    "is not 70/25/5"
                ),
            ]
            for corruption in corruptions {
                try await sql.raw(SQLQueryString(corruption.break)).run()
                let problems = try await audit.run().problems
                #expect(problems.count >= 1 && problems.allSatisfy { $0.contains(corruption.named) || $0.hasPrefix(name) }, "\(problems)")
                #expect(problems.contains { $0.contains(corruption.named) }, "\(corruption.named) not in \(problems)")
                try await sql.raw(SQLQueryString(corruption.repair)).run()
                try await Self.expectConsistent(app)
            }
        }
    }

    @Test("grants expire on time, by the job or on the next read, and expired credits cannot be spent")
    func expiry() async throws {
        try await TestApp.run { app, _ in
            let ledger = app.coordinator.ledger
            let user = try await Self.user(app)
            let now = Date()
            try await ledger.grant(
                .init(
                    userID: user, amount: Credits(7), source: .promo, category: "promo:X", description: "soon", campaign: "spring",
                    expiresAt: now.addingTimeInterval(60), idempotencyKey: "a"), now: now)
            try await ledger.grant(
                .init(userID: user, amount: Credits(2), source: .admin, category: "grant", description: "forever", idempotencyKey: "b"),
                now: now)
            #expect(try await ledger.expireDue(now: now) == 0)
            let later = now.addingTimeInterval(61)
            // Spending after expiry cannot touch the expired grant, even before the job ran.
            await #expect(throws: APIError.self) {
                try await ledger.charge(user, Credits(3), category: "x", idempotencyKey: "c", now: later)
            }
            #expect(try await ledger.expireDue(now: later) == 1)
            let account = try #require(try await ledger.account(of: user))
            #expect(account.balance == Credits(2).micro && account.totalExpired == Credits(7).micro)
            let expired = try await CreditTransaction.query(on: app.coordinator.store.db).filter(\.$kind == .expire).all()
            #expect(expired.count == 1 && expired[0].amount == -Credits(7).micro && expired[0].category == "expired:spring")
            #expect(try await ledger.expireDue(now: later) == 0, "expiring twice does nothing")
            try await Self.expectConsistent(app)
        }
    }

    @Test("revokes take an amount oldest-first or a grant's remainder; refunds come back as a new grant")
    func revokeAndRefund() async throws {
        try await TestApp.run { app, _ in
            let ledger = app.coordinator.ledger
            let user = try await Self.user(app)
            let a = try await ledger.grant(
                .init(userID: user, amount: Credits(10), source: .admin, category: "grant", description: "a", idempotencyKey: "a"))
            try await ledger.grant(
                .init(userID: user, amount: Credits(10), source: .admin, category: "grant", description: "b", idempotencyKey: "b"))
            try await ledger.revoke(user, amount: Credits(4), grantID: nil, reason: "mistake", idempotencyKey: "r1")
            let whole = try await ledger.revoke(user, amount: nil, grantID: a.grantID, reason: "all of a", idempotencyKey: "r2")
            #expect(whole.amount == -Credits(6).micro)
            await #expect(throws: APIError.self) {
                try await ledger.revoke(user, amount: Credits(11), grantID: nil, reason: "too much", idempotencyKey: "r3")
            }
            let spend = try #require(try await ledger.charge(user, Credits(5), category: "Plan: Pro", idempotencyKey: "s").transaction)
            try await ledger.refund(user, spend: spend.id!, amount: Credits(2), reason: "partial", idempotencyKey: "f1")
            await #expect(throws: APIError.self) {
                try await ledger.refund(user, spend: spend.id!, amount: Credits(4), reason: "more than is left", idempotencyKey: "f2")
            }
            let account = try #require(try await ledger.account(of: user))
            #expect(
                account.balance == Credits(7).micro && account.totalUsed == Credits(3).micro && account.totalRevoked == Credits(10).micro)
            try await Self.expectConsistent(app)
        }
    }

    @Test("the database ledger agrees with the pure FIFO model for random sequences of operations")
    func ledgerMatchesModel() async throws {
        try await TestApp.run { app, _ in
            let ledger = app.coordinator.ledger
            let start = Date()
            // op: (kind 0 grant / 1 spend / 2 revoke / 3 advance time, amount in credits, expiring)
            let ops = zip(Gen.int(in: 0...3), Gen.int(in: 1...30), Gen.bool).array(of: 1...25)
            await propertyCheck(count: 12, input: ops) { ops in
                let user = try await Self.user(app)
                var model: [GrantBalance] = []
                var now = start
                for (index, (kind, whole, expiring)) in ops.enumerated() {
                    let amount = Credits(Int64(whole))
                    switch kind {
                    case 0:
                        let tx = try await ledger.grant(
                            .init(
                                userID: user, amount: amount, source: .admin, category: "g", description: "g",
                                expiresAt: expiring ? now.addingTimeInterval(3600) : nil, idempotencyKey: "op\(index)"), now: now)
                        model.append(
                            GrantBalance(id: tx.grantID!, remaining: amount.micro, expiresAt: expiring ? now.addingTimeInterval(3600) : nil)
                        )
                    case 1, 2:
                        for due in CreditBook.due(model, now: now) { model[due].remaining = 0 }
                        let parts = CreditBook.allocate(amount.micro, from: model, now: now)
                        do {
                            if kind == 1 {
                                try await ledger.charge(user, amount, category: "s", idempotencyKey: "op\(index)", now: now)
                            } else {
                                try await ledger.revoke(
                                    user, amount: amount, grantID: nil, reason: "r", idempotencyKey: "op\(index)", now: now)
                            }
                            let taken = try #require(parts, "the ledger spent what the model says is not there")
                            for part in taken { model[part.index].remaining -= part.amount }
                        } catch let error as APIError {
                            #expect(parts == nil && (error.code == .insufficientCredits), "\(error)")
                        }
                    default:
                        now = now.addingTimeInterval(1800)
                    }
                }
                try await ledger.settle(user, now: now)
                for due in CreditBook.due(model, now: now) { model[due].remaining = 0 }
                let grants = try await CreditGrant.query(on: app.coordinator.store.db).filter(\.$userID == user).sort(\.$sequence).all()
                #expect(grants.map(\.remaining) == model.map(\.remaining))
                #expect(try await ledger.account(of: user)?.balance ?? 0 == model.reduce(0) { $0 + $1.remaining })
            }
            try await Self.expectConsistent(app)
        }
    }

    @Test("thousands of interleaved spends, grants, revokes, expiries and redemptions keep every invariant")
    func concurrency() async throws {
        try await TestApp.run { app, _ in
            let ledger = app.coordinator.ledger
            let promos = app.coordinator.promos
            var users: [UUID] = []
            for _ in 0..<8 { users.append(try await Self.user(app)) }
            let admin = try await Self.user(app)
            let promo = try await promos.create(.init(code: "RACE", creditAmount: Credits(3), maxUses: 5, perUserLimit: 100), by: admin)
            let started = Date()
            let pool = users
            let tally = Tally()
            let operations = TestApp.postgresURL == nil ? 600 : 3000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        for n in 0..<(operations / 16) {
                            let user = pool[(worker * 7 + n) % pool.count]
                            let key = "w\(worker)-\(n)"
                            do {
                                switch n % 6 {
                                case 0, 1:
                                    try await ledger.grant(
                                        .init(
                                            userID: user, amount: Credits(micro: 2_000_000 + Int64(n)), source: .admin, category: "g",
                                            description: "g",
                                            expiresAt: n % 12 == 0 ? started.addingTimeInterval(0.5) : nil, idempotencyKey: key))
                                case 2, 3:
                                    let charge = try await ledger.charge(
                                        user, Credits(micro: 1_500_000), category: "s", idempotencyKey: key)
                                    tally.spent.withLock { $0 += charge.charged.micro }
                                case 4:
                                    try await ledger.revoke(
                                        user, amount: Credits(micro: 500_000), grantID: nil, reason: "r", idempotencyKey: key)
                                default:
                                    if n % 12 == 5 {
                                        _ = try await promos.redeem("race", userID: user)
                                        tally.redeemed.withLock { $0 += 1 }
                                    } else {
                                        try await ledger.expireDue()
                                    }
                                }
                            } catch let error as APIError {
                                #expect(
                                    [.insufficientCredits, .promoCodeUsedUp].contains(error.code),
                                    "unexpected refusal: \(error.detail)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await ledger.expireDue(now: Date().addingTimeInterval(1))
            #expect(tally.redeemed.withLock { $0 } == 5, "a code with max_uses 5 is redeemed exactly 5 times")
            let reloaded = try #require(try await PromoCode.find(promo.id, on: app.coordinator.store.db))
            #expect(reloaded.uses == 5)
            // No double spend: what the spends took is what the accounts say was used.
            let used = try await app.coordinator.store.db.sql.sum("total_used_micro", in: CreditAccount.schema)
            #expect(used == tally.spent.withLock { $0 })
            try await Self.expectConsistent(app)
        }
    }
}
