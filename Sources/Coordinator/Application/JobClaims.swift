import Foundation
import Logging
import SQLKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Makes each due item of a background job run once, however many coordinator replicas run the
/// job. Every replica runs every `PeriodicJob`; before working on an item a replica *claims* it:
/// one `INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING` on the `job_runs` row of
/// (job, item) succeeds for one replica only. The claim is a lease of `lease` that the working
/// replica renews while it works; when the item is done the row is marked completed and no one
/// claims it again. A replica that dies mid-item (`kill -9`, a lost host) stops renewing, and
/// once its lease runs out the next replica's round claims the item and finishes it
/// (`attempts` then counts 2).
///
/// An item names one due *occurrence*, not a thing: "the renewal of subscription S at period end
/// P", "the delegation check of domain D last checked at T". When the work changes what is due,
/// the next occurrence has a new name. Work must stay idempotent for the one case a claim cannot
/// cover: a replica that finished the work and died before marking it completed.
///
/// Times are Unix milliseconds, so that SQLite and PostgreSQL compare them alike.
public final class JobClaims: Sendable {
    let database: any SQLDatabase
    /// This process, as recorded in `claimed_by` and `completed_by`: "host:pid".
    public let replica: String
    /// How long a claim holds without renewal.
    public let lease: Duration
    let logger: Logger
    private let calls = Atomic<Int>(0)
    /// Completed rows are kept this long (seconds): far longer than any replica's list of due
    /// items can be stale, and long enough for operators and tests to read. Then deleted.
    static let keep: Double = 86_400

    public init(database: any SQLDatabase, lease: Duration, replica: String = JobClaims.processName(), logger: Logger) {
        self.database = database
        self.lease = lease
        self.replica = replica
        self.logger = logger
    }

    /// "hostname:pid".
    public static func processName() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid())"
    }

    private struct Claimed: Decodable { var attempts: Int }

    /// Claims `item` of `job` for this replica. Returns the attempt number (1 the first time),
    /// or nil when the item is completed or another replica's lease on it still holds.
    public func claim(job: String, item: String, now: Date = Date()) async throws -> Int? {
        let nowMillis = Self.millis(now)
        let until = nowMillis + Self.millis(lease)
        if calls.add(1, ordering: .relaxed).newValue % 1000 == 0 {
            try await database.raw(
                "DELETE FROM job_runs WHERE completed_at IS NOT NULL AND completed_at < \(bind: nowMillis - Int64(Self.keep * 1000))"
            ).run()
        }
        return try await database.raw(
            """
            INSERT INTO job_runs (job, item, claimed_by, lease_until, attempts, first_claimed_at)
            VALUES (\(bind: job), \(bind: item), \(bind: replica), \(bind: until), 1, \(bind: nowMillis))
            ON CONFLICT (job, item) DO UPDATE SET claimed_by = excluded.claimed_by, lease_until = excluded.lease_until,
                attempts = job_runs.attempts + 1
            WHERE job_runs.completed_at IS NULL AND job_runs.lease_until < \(bind: nowMillis)
            RETURNING attempts
            """
        ).first(decoding: Claimed.self)?.attempts
    }

    /// Extends this replica's lease on `item` while it works.
    func renew(job: String, item: String, now: Date = Date()) async throws {
        try await database.raw(
            """
            UPDATE job_runs SET lease_until = \(bind: Self.millis(now) + Self.millis(lease))
            WHERE job = \(bind: job) AND item = \(bind: item) AND claimed_by = \(bind: replica) AND completed_at IS NULL
            """
        ).run()
    }

    /// Marks `item` done: no replica claims it again.
    func complete(job: String, item: String, now: Date = Date()) async throws {
        try await database.raw(
            """
            UPDATE job_runs SET completed_at = \(bind: Self.millis(now)), completed_by = \(bind: replica)
            WHERE job = \(bind: job) AND item = \(bind: item) AND claimed_by = \(bind: replica)
            """
        ).run()
    }

    /// Gives `item` back after a failed attempt, so that the next round (any replica's) retries it.
    func release(job: String, item: String) async throws {
        try await database.raw(
            "UPDATE job_runs SET lease_until = 0 WHERE job = \(bind: job) AND item = \(bind: item) AND claimed_by = \(bind: replica)"
        ).run()
    }

    /// Runs `work` for `item` if this replica claims it: renews the lease every third of it while
    /// `work` runs, then marks the item completed, or releases it when `work` throws (and
    /// rethrows). Returns whether this replica ran it.
    @discardableResult
    public func run(job: String, item: String, _ work: () async throws -> Void) async throws -> Bool {
        guard try await claim(job: job, item: item) != nil else { return false }
        let renewal = Task { [lease] in
            while !Task.isCancelled {
                try await Task.sleep(for: lease / 3)
                try? await renew(job: job, item: item)
            }
        }
        defer { renewal.cancel() }
        do {
            try await work()
        } catch {
            try? await release(job: job, item: item)
            throw error
        }
        try await complete(job: job, item: item)
        return true
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    static func millis(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
