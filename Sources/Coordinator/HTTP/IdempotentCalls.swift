import FluentKit
import Foundation
import HTTPTypes
import Hummingbird

/// `Idempotency-Key` for the API's money calls: the first request with a key runs and its
/// answer is stored; a retry with the same key gets that answer; a retry while the first is
/// still running is 409; reusing a key for another call is 422. Failed calls store nothing, so
/// they can be retried with the same key.
struct IdempotentCalls: Sendable {
    let store: DatabaseStore
    static let header = HTTPField.Name("Idempotency-Key")!

    /// The request's key, validated; nil when it sent none.
    static func key(of request: Request) throws -> String? {
        guard let key = request.headers[header] else { return nil }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) else {
            throw APIError.validation("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
        }
        return key
    }

    static let inProgress = APIError.conflict(
        "A request with this Idempotency-Key is still being processed.", code: .idempotencyInProgress)

    func run<R: Codable & Sendable>(
        _ request: Request, user: UUID, route: String, _ body: @Sendable (_ key: String) async throws -> R
    ) async throws -> R {
        guard let key = try Self.key(of: request) else { return try await body(UUID().uuidString) }
        let record = IdempotencyRecord()
        record.userID = user
        record.key = key
        record.route = route
        // The key is taken by inserting its record. If that fails, an earlier request holds the
        // key — unless the earlier one failed and let it go in between: then try again.
        for attempt in 1...3 {
            do {
                try await record.create(on: store.db)
                break
            } catch let error as any DatabaseError where error.isConstraintFailure {
                if let earlier = try await IdempotencyRecord.query(on: store.db).filter(\.$userID == user).filter(\.$key == key).first() {
                    guard earlier.route == route else {
                        throw APIError.validation("Idempotency-Key", "was already used for another request (\(earlier.route))")
                    }
                    guard let response = earlier.response else { throw Self.inProgress }
                    return try JSONDecoder.api.decode(R.self, from: Data(response.utf8))
                }
                if attempt == 3 { throw Self.inProgress }
                record.id = nil
                record.$id.exists = false
            }
        }
        do {
            // The key scopes the work too: the ledger sees the same key on a retry.
            let result = try await body("\(route):\(key)")
            record.response = String(decoding: try JSONEncoder.api.encode(result), as: UTF8.self)
            try await record.save(on: store.db)
            return result
        } catch {
            try? await record.delete(on: store.db)
            throw error
        }
    }
}
