import FluentKit
import Foundation

/// Deletes dashboard sessions and verification links that can no longer be used (run hourly by
/// `Coordinator.jobs()`, by one replica a round).
public struct ExpiredCredentialsJob: Sendable {
    let store: DatabaseStore

    public init(store: DatabaseStore) {
        self.store = store
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
}
