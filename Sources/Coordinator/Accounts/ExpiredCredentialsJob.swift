import FluentKit
import Foundation
import Logging
import ServiceLifecycle

/// Deletes dashboard sessions and verification links that can no longer be used, hourly.
/// Deleting is idempotent, so replicas running it at the same time do no harm.
public struct ExpiredCredentialsJob: Service {
    let store: DatabaseStore
    let logger: Logger
    let interval: Duration

    public init(store: DatabaseStore, logger: Logger, interval: Duration = .seconds(3600)) {
        self.store = store
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await runOnce()
            } catch {
                logger.warning("expired-credentials cleanup failed", metadata: ["error": "\(error)"])
            }
            try? await gracefulShutdownOrSleep()
        }
    }

    /// One sweep; returns how many rows went.
    @discardableResult
    public func runOnce(now: Date = Date()) async throws -> Int {
        let sessions = try await Session.query(on: store.db).filter(\.$expiresAt < now).count()
        try await Session.query(on: store.db).filter(\.$expiresAt < now).delete()
        // Used or expired links are kept a week so "this link was already used" stays explainable.
        let cutoff = now.addingTimeInterval(-7 * 86_400)
        let links = try await EmailVerification.query(on: store.db).filter(\.$expiresAt < cutoff).count()
        try await EmailVerification.query(on: store.db).filter(\.$expiresAt < cutoff).delete()
        return sessions + links
    }

    private func gracefulShutdownOrSleep() async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
}
