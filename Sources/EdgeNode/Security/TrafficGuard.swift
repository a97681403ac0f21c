import Foundation
import Synchronization
import WAFKit

/// Per-visitor request counting: customers' rate limits and the automatic flood defence. Counts
/// live in sharded maps (one short lock per request) swept every second; a visitor over a limit
/// gets a penalty — block or challenge — until it expires.
final class TrafficGuard: Sendable {
    enum Penalty: Sendable, Equatable {
        case block(until: Double)
        case challenge(until: Double)

        var until: Double {
            switch self {
            case .block(let until), .challenge(let until): until
            }
        }
    }

    struct Key: Hashable, Sendable {
        let domain: String
        /// The rate limit counted; nil: the domain's flood counter.
        let rule: UUID?
        let client: ClientIP
    }

    struct Window: Sendable {
        var start: Double
        var count: Int
        /// The previous window's count (floods are judged on a sliding estimate).
        var previous: Int
        var penalty: Penalty?
        /// Seconds spent flooding while already challenged (a client that never solves it).
        var strikes: Int
        /// Requests while the flood penalty lasted (for the attack's source list).
        var total: Int
    }

    /// Shards and their bound: beyond it new visitors are not tracked until the next sweep.
    static let shardCount = 16
    static let maxPerShard = 16_384
    /// Flood penalties: first a challenge for this long, then a block for a client that keeps
    /// flooding `escalateAfter` seconds without solving it.
    static let floodPenalty: Double = 600
    static let escalateAfter = 10

    private final class Shard: Sendable {
        let windows = Mutex<[Key: Window]>([:])
    }
    private let shards: [Shard]

    init() {
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    private func shard(_ key: Key) -> Shard {
        shards[Int(UInt(bitPattern: key.client.value.hashValue ^ key.domain.utf8.count) % UInt(Self.shardCount))]
    }

    /// Counts a request against a customer's rate limit; returns the penalty in force, if any.
    func count(_ limit: RateLimit, domain: String, client: ClientIP, now: Double) -> Penalty? {
        let key = Key(domain: domain, rule: limit.id, client: client)
        return shard(key).windows.withLock { windows -> Penalty? in
            guard
                var window = windows[key]
                    ?? (windows.count < Self.maxPerShard ? Window(start: now, count: 0, previous: 0, strikes: 0, total: 0) : nil)
            else { return nil }
            defer { windows[key] = window }
            if let penalty = window.penalty {
                if penalty.until > now { return penalty }
                window.penalty = nil
            }
            if now - window.start >= Double(limit.period) {
                window.start = now
                window.count = 0
            }
            window.count += 1
            guard window.count > limit.requests else { return nil }
            let until = now + Double(limit.duration)
            window.penalty = limit.action == .challenge ? .challenge(until: until) : .block(until: until)
            return window.penalty
        }
    }

    /// Counts a request for the flood defence. Returns the penalty in force and whether this
    /// request started one (the caller records the attack).
    func countFlood(domain: String, client: ClientIP, threshold: Int, now: Double) -> (Penalty?, started: Bool) {
        let key = Key(domain: domain, rule: nil, client: client)
        return shard(key).windows.withLock { windows -> (Penalty?, Bool) in
            guard
                var window = windows[key]
                    ?? (windows.count < Self.maxPerShard
                        ? Window(start: now.rounded(.down), count: 0, previous: 0, strikes: 0, total: 0) : nil)
            else { return (nil, false) }
            defer { windows[key] = window }
            let second = now.rounded(.down)
            if second > window.start {
                window.previous = second - window.start == 1 ? window.count : 0
                // A second over the threshold while challenged is a strike.
                if case .challenge = window.penalty, window.previous > threshold { window.strikes += 1 }
                window.start = second
                window.count = 0
            }
            window.count += 1
            if window.penalty != nil { window.total += 1 }
            if let penalty = window.penalty {
                if penalty.until <= now {
                    window.penalty = nil
                    window.strikes = 0
                } else if case .challenge = penalty, window.strikes >= Self.escalateAfter {
                    window.penalty = .block(until: penalty.until)
                    return (window.penalty, false)
                } else {
                    return (penalty, false)
                }
            }
            // Sliding estimate of the last second's rate.
            let rate = Double(window.previous) * (1 - (now - second)) + Double(window.count)
            guard rate > Double(threshold) else { return (nil, false) }
            window.penalty = .challenge(until: now + Self.floodPenalty)
            window.total = window.count
            return (window.penalty, true)
        }
    }

    /// The visitors a domain's flood defence is holding back now, with the requests each sent
    /// since; also forgets windows idle for a minute that carry no penalty.
    func sweep(now: Double) -> [String: [(ClientIP, Int)]] {
        var offenders: [String: [(ClientIP, Int)]] = [:]
        for shard in shards {
            shard.windows.withLock { windows in
                windows = windows.filter { key, window in
                    if let penalty = window.penalty, penalty.until > now {
                        if key.rule == nil { offenders[key.domain, default: []].append((key.client, window.total)) }
                        return true
                    }
                    return now - window.start < 60
                }
            }
        }
        return offenders
    }
}
