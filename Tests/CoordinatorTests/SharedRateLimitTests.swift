import Foundation
import SQLKit
import Testing

@testable import Coordinator

/// The rate-limit counts replicas share, on the test's database (SQLite and PostgreSQL both).
@Suite("Shared rate-limit counts")
struct SharedRateLimitTests {
    @Test("a sliding window per key: the limit holds inside a window and across its boundary, and other keys count apart")
    func slidingWindow() async throws {
        try await TestApp.run { app, _ in
            let sql = try #require(app.coordinator.store.db as? any SQLDatabase)
            let counts = SharedRateLimitCounts(database: sql)
            // A window starts on a multiple of its length: 600 s windows from 1,800,000,000.
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            for attempt in 1...3 {
                #expect(try await counts.take("login|a", limit: 3, window: 600, now: start.addingTimeInterval(Double(attempt))) == nil)
            }
            let refused = try await counts.take("login|a", limit: 3, window: 600, now: start.addingTimeInterval(10))
            #expect(refused == 590, "the 4th in the window waits for the next one")
            #expect(try await counts.take("login|b", limit: 3, window: 600, now: start.addingTimeInterval(10)) == nil, "another key")
            #expect(try await counts.take("register|a", limit: 3, window: 600, now: start.addingTimeInterval(10)) == nil)
            // Just past the boundary the previous window still weighs almost fully.
            let next = start.addingTimeInterval(601)
            #expect(try await counts.take("login|a", limit: 3, window: 600, now: next) != nil)
            // Two windows on, the count is gone.
            #expect(try await counts.take("login|a", limit: 3, window: 600, now: start.addingTimeInterval(1300)) == nil)
        }
    }

    @Test("sign-in attempts counted in the database: a second limiter on the same database sees the first one's count")
    func acrossCoordinators() async throws {
        try await TestApp.run { app, client in
            let sql = try #require(app.coordinator.store.db as? any SQLDatabase)
            // Two limiters with nothing in common but the database, as two replicas have.
            let first = RateLimiter(name: "login", capacity: 3, per: 600, shared: SharedRateLimitCounts(database: sql))
            let second = RateLimiter(name: "login", capacity: 3, per: 600, shared: SharedRateLimitCounts(database: sql))
            try await first.enforce(key: "198.51.100.7", what: "attempts")
            try await second.enforce(key: "198.51.100.7", what: "attempts")
            try await first.enforce(key: "198.51.100.7", what: "attempts")
            await #expect(throws: APIError.self) { try await second.enforce(key: "198.51.100.7", what: "attempts") }
            _ = client
        }
    }
}
