import Foundation
import Logging
import ServiceLifecycle

/// Runs a background job every `interval` until shutdown. Every coordinator replica runs every
/// job; each round lists what is due and hands each due item to `JobRound.run`, which runs it only
/// on the replica that claims it (`JobClaims`), so an item runs once across replicas. A failing
/// item is logged and retried in a later round; a failing round likewise.
struct PeriodicJob: Service {
    let name: String
    let interval: Duration
    let claims: JobClaims
    let logger: Logger
    let body: @Sendable (JobRound) async throws -> Void

    init(
        name: String, interval: Duration, claims: JobClaims, logger: Logger, body: @escaping @Sendable (JobRound) async throws -> Void
    ) {
        self.name = name
        self.interval = interval
        self.claims = claims
        self.logger = logger
        self.body = body
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await body(JobRound(job: name, interval: interval, claims: claims, logger: logger))
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// One round of a `PeriodicJob`.
public struct JobRound: Sendable {
    let job: String
    let interval: Duration
    let claims: JobClaims
    let logger: Logger
    /// The round's number: whole intervals since 1970, the same on every replica. Part of the item
    /// name of work that is due once per round (an hourly sweep).
    public var number: Int64 { JobClaims.millis(Date()) / max(1, JobClaims.millis(interval)) }

    /// Runs `work` for `item` if this replica claims it. A failure is logged and leaves the item to
    /// a later round; returns whether the work ran to the end here.
    @discardableResult
    public func run(_ item: String, _ work: () async throws -> Void) async -> Bool {
        do {
            return try await claims.run(job: job, item: item, work)
        } catch {
            logger.warning("\(job) failed for one item", metadata: ["item": "\(item)", "error": "\(error)"])
            return false
        }
    }
}

extension Optional where Wrapped == JobRound {
    /// Runs `work` for `item` through the round, or at once when there is none (a direct call, as
    /// tests and one-off commands make, which sees the error itself).
    @discardableResult
    func run(_ item: String, _ work: () async throws -> Void) async throws -> Bool {
        guard let round = self else {
            try await work()
            return true
        }
        return await round.run(item, work)
    }
}
