import Foundation
import Synchronization

/// A token bucket per key (client IP, user): `capacity` requests at once, refilled evenly at
/// `refillPerSecond`. Kept in this process's memory; each coordinator replica counts on its own.
public final class RateLimiter: Sendable {
    public let capacity: Double
    public let refillPerSecond: Double
    /// Above this many tracked keys, buckets that have refilled completely are forgotten.
    private let pruneThreshold: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public init(capacity: Int, per seconds: Double, pruneThreshold: Int = 50_000) {
        self.capacity = Double(capacity)
        self.refillPerSecond = Double(capacity) / seconds
        self.pruneThreshold = pruneThreshold
    }

    public init(burst: Int, refillPerSecond: Double) {
        self.capacity = Double(burst)
        self.refillPerSecond = refillPerSecond
        self.pruneThreshold = 50_000
    }

    /// Takes one token for `key`, or throws 429 `rate_limited` with `Retry-After` naming `what`
    /// ("sign-in attempts from your address").
    func enforce(key: String, what: String) throws {
        if let retryAfter = take(key) { throw APIError.rateLimited(retryAfter: retryAfter, what: what) }
    }

    /// Takes one token for `key`. Returns nil when allowed, or the whole seconds until a token is back.
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
