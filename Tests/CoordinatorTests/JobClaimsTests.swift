import DCDNCore
import FluentKit
import Foundation
import Logging
import SQLKit
import Testing

@testable import Coordinator

/// Background jobs' items claimed by one replica each, on the test's database (SQLite and
/// PostgreSQL both). Replicas are `JobClaims` with different names on the same database.
@Suite("Job claims")
struct JobClaimsTests {
    static func replica(_ app: TestApp, _ name: String, lease: Duration = .seconds(60)) throws -> JobClaims {
        JobClaims(
            database: try #require(app.coordinator.store.db as? any SQLDatabase), lease: lease, replica: name,
            logger: Logger(label: "test"))
    }

    struct Row: Decodable, Equatable {
        var attempts: Int
        var claimed_by: String
        var completed_by: String?
    }

    static func row(_ app: TestApp, job: String, item: String) async throws -> Row? {
        let sql = try #require(app.coordinator.store.db as? any SQLDatabase)
        return try await sql.raw(
            "SELECT attempts, claimed_by, completed_by FROM job_runs WHERE job = \(bind: job) AND item = \(bind: item)"
        )
        .first(decoding: Row.self)
    }

    @Test("one replica gets an item; a completed item is never claimed again; a lapsed lease passes to another replica")
    func claims() async throws {
        try await TestApp.run { app, _ in
            let a = try Self.replica(app, "a:1")
            let b = try Self.replica(app, "b:2")
            let start = Date()
            #expect(try await a.claim(job: "j", item: "1", now: start) == 1)
            #expect(try await b.claim(job: "j", item: "1", now: start.addingTimeInterval(1)) == nil, "a's lease holds")
            #expect(try await a.claim(job: "j", item: "1", now: start.addingTimeInterval(2)) == nil, "not twice by a either")
            #expect(try await b.claim(job: "j", item: "2", now: start) == 1, "another item is free")
            #expect(try await b.claim(job: "other", item: "1", now: start) == 1, "another job's item of the same name is free")

            // a dies holding item 1: once its lease has lapsed, b takes the item over.
            #expect(try await b.claim(job: "j", item: "1", now: start.addingTimeInterval(61)) == 2)
            try await b.complete(job: "j", item: "1")
            #expect(try await Self.row(app, job: "j", item: "1") == Row(attempts: 2, claimed_by: "b:2", completed_by: "b:2"))
            #expect(try await a.claim(job: "j", item: "1", now: start.addingTimeInterval(600)) == nil, "completed")
            // A late `complete` from the dead replica does not take the credit.
            try await a.complete(job: "j", item: "1")
            #expect(try await Self.row(app, job: "j", item: "1")?.completed_by == "b:2")
        }
    }

    @Test("ten replicas claiming one item at the same moment: exactly one gets it")
    func race() async throws {
        try await TestApp.run { app, _ in
            let replicas = try (0..<10).map { try Self.replica(app, "r:\($0)") }
            for item in 0..<5 {
                let won = try await withThrowingTaskGroup(of: Int?.self) { group in
                    for replica in replicas { group.addTask { try await replica.claim(job: "race", item: "\(item)") } }
                    return try await group.reduce(into: 0) { count, claimed in count += claimed == nil ? 0 : 1 }
                }
                #expect(won == 1, "item \(item): \(won) replicas claimed it")
            }
        }
    }

    @Test("work that fails gives the item back at once; work that succeeds completes it; a renewed lease holds")
    func run() async throws {
        try await TestApp.run { app, _ in
            struct Failure: Error {}
            let a = try Self.replica(app, "a:1", lease: .seconds(3))
            let b = try Self.replica(app, "b:2", lease: .seconds(3))
            await #expect(throws: Failure.self) { try await a.run(job: "j", item: "x") { throw Failure() } }
            var ran = 0
            #expect(try await b.run(job: "j", item: "x") { ran += 1 }, "b retries at once")
            #expect(try await Self.row(app, job: "j", item: "x") == Row(attempts: 2, claimed_by: "b:2", completed_by: "b:2"))
            #expect(try await a.run(job: "j", item: "x") { ran += 1 } == false)
            #expect(ran == 1)

            // A renewed lease holds past its first term; the clock is the test's, not the machine's.
            let start = Date()
            #expect(try await a.claim(job: "j", item: "long", now: start) == 1)
            try await a.renew(job: "j", item: "long", now: start.addingTimeInterval(2))
            #expect(try await b.claim(job: "j", item: "long", now: start.addingTimeInterval(4)) == nil, "renewed until 5 s")
            try await b.renew(job: "j", item: "long", now: start.addingTimeInterval(4))  // not b's to renew
            #expect(try await b.claim(job: "j", item: "long", now: start.addingTimeInterval(6)) == 2)
        }
    }

    @Test("credit expiry run by three replicas at once expires each grant once")
    func creditExpiryOnce() async throws {
        try await TestApp.run { app, _ in
            let ledger = app.coordinator.ledger
            let now = Date()
            var users: [UUID] = []
            for index in 0..<6 {
                let user = try await CreditsTests.user(app)
                users.append(user)
                _ = try await ledger.grant(
                    .init(
                        userID: user, amount: Credits(Int64(index + 1)), source: .promo, category: "promo:X", description: "soon",
                        campaign: "c", expiresAt: now.addingTimeInterval(1), idempotencyKey: "g\(index)"), now: now)
            }
            let later = now.addingTimeInterval(5)
            let replicas = try ["a:1", "b:2", "c:3"].map { try Self.replica(app, $0) }
            let expired = try await withThrowingTaskGroup(of: Int.self) { group in
                for replica in replicas {
                    group.addTask {
                        let round = JobRound(job: "credit expiry", interval: .seconds(60), claims: replica, logger: Logger(label: "test"))
                        return try await ledger.expireDue(now: later, round: round)
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(expired == 6)
            let transactions = try await CreditTransaction.query(on: app.coordinator.store.db).filter(\.$kind == .expire).all()
            #expect(transactions.count == 6)
            let sql = try #require(app.coordinator.store.db as? any SQLDatabase)
            let rows = try await sql.raw("SELECT attempts, claimed_by, completed_by FROM job_runs WHERE job = 'credit expiry'")
                .all(decoding: Row.self)
            #expect(rows.count == 6 && rows.allSatisfy { $0.attempts == 1 && $0.completed_by == $0.claimed_by })
            try await CreditsTests.expectConsistent(app)
        }
    }
}
