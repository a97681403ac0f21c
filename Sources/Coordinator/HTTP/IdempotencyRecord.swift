import FluentKit
import Foundation

/// The stored answer to a mutating money call made with an `Idempotency-Key`: a retry with the
/// same key gets the same answer instead of doing the work twice.
public final class IdempotencyRecord: Model, @unchecked Sendable {
    public static let schema = "idempotency_records"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "key") public var key: String
    @Field(key: "route") public var route: String
    /// nil while the first request is still running.
    @OptionalField(key: "response") public var response: String?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
