import FluentKit
import Foundation
import SQLKit
import Synchronization

/// A limit per key (client address, user): `capacity` requests at once, refilled evenly at
/// `refillPerSecond`. With one coordinator (dev, SQLite) the counts are a token bucket in this
/// process's memory; with replicas on PostgreSQL they are `SharedRateLimitCounts` in the
/// database every replica uses, so three replicas behind a balancer allow what one does.
public final class RateLimiter: Sendable {
    /// Names the limit's rows in the shared table ("login", "api").
    public let name: String
    public let capacity: Double
    public let refillPerSecond: Double
    /// Where the counts are shared; nil keeps them in memory.
    let shared: SharedRateLimitCounts?
    /// Above this many tracked keys, buckets that have refilled completely are forgotten.
    private let pruneThreshold: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public init(name: String, capacity: Int, per seconds: Double, shared: SharedRateLimitCounts? = nil, pruneThreshold: Int = 50_000) {
        self.name = name
        self.capacity = Double(capacity)
        self.refillPerSecond = Double(capacity) / seconds
        self.shared = shared
        self.pruneThreshold = pruneThreshold
    }

    public init(name: String, burst: Int, refillPerSecond: Double, shared: SharedRateLimitCounts? = nil) {
        self.name = name
        self.capacity = Double(burst)
        self.refillPerSecond = refillPerSecond
        self.shared = shared
        self.pruneThreshold = 50_000
    }

    /// The shared counter's window: the time the bucket takes to refill from empty.
    var window: Double { capacity / refillPerSecond }

    /// Counts one request for `key`, or throws 429 `rate_limited` with `Retry-After` naming
    /// `what` ("sign-in attempts from your address"). Throws the database's error when the
    /// shared counts cannot be reached (answered 503 like any other outage).
    func enforce(key: String, what: String) async throws {
        let retryAfter = try await shared?.take(name + "|" + key, limit: capacity, window: window) ?? take(key)
        if let retryAfter { throw APIError.rateLimited(retryAfter: retryAfter, what: what) }
    }

    /// Takes one token for `key` in memory. Returns nil when allowed, or the whole seconds until a token is back.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { buckets in
            if buckets.count > pruneThreshold { prune(&buckets, now: now) }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed =
                Double((now - bucket.updated).components.seconds)
                + Double((now - bucket.updated).components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + max(0, elapsed) * refillPerSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / refillPerSecond).rounded(.up)))
        }
    }

    private func prune(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        let fullAfter = Duration.seconds(capacity / refillPerSecond)
        buckets = buckets.filter { now - $0.value.updated < fullAfter }
    }
}

/// Rate-limit counts every coordinator replica sees: a sliding-window counter in the database
/// (the estimate Cloudflare's and nginx's limiters use: the previous window's count weighted by
/// how much of it still overlaps, plus the current window's). One `INSERT … ON CONFLICT DO
/// UPDATE … RETURNING` per request counts it atomically, whichever replica answers; every
/// attempt counts, refused ones too. Expired windows are deleted now and then.
public final class SharedRateLimitCounts: Sendable {
    let database: any SQLDatabase
    private let calls = Atomic<Int>(0)
    /// One call in this many also deletes expired windows.
    static let pruneEvery = 500

    public init(database: any SQLDatabase) {
        self.database = database
    }

    private struct Counts: Decodable {
        var count: Int
        var previous: Int?
    }

    /// Counts an attempt for `key` against `limit` per `window` seconds; nil when allowed, else
    /// the whole seconds until the next window.
    func take(_ key: String, limit: Double, window: Double, now: Date = Date()) async throws -> Int? {
        let windowMillis = max(1, Int64((window * 1000).rounded()))
        let nowMillis = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        let start = nowMillis / windowMillis * windowMillis
        let row = try await database.raw(
            """
            INSERT INTO rate_limit_counts (key, window_start, count, expires_at) VALUES (\(bind: key), \(bind: start), 1, \(bind: start + 2 * windowMillis))
            ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_counts.count + 1
            RETURNING count, (SELECT previous.count FROM rate_limit_counts previous
                WHERE previous.key = \(bind: key) AND previous.window_start = \(bind: start - windowMillis)) AS previous
            """
        ).first(decoding: Counts.self)
        if calls.add(1, ordering: .relaxed).newValue % Self.pruneEvery == 0 {
            try await database.raw("DELETE FROM rate_limit_counts WHERE expires_at < \(bind: nowMillis)").run()
        }
        guard let row else { return nil }
        let overlap = 1 - Double(nowMillis - start) / Double(windowMillis)
        let estimate = Double(row.previous ?? 0) * overlap + Double(row.count)
        guard estimate > limit else { return nil }
        return max(1, Int((Double(start + windowMillis - nowMillis) / 1000).rounded(.up)))
    }
}
