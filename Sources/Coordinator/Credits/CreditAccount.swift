import FluentKit
import Foundation

/// A user's credit balance and running totals. The ledger locks this row for every change, so
/// its counters (`grant_count`, `transaction_count`) also give grants and transactions their order.
public final class CreditAccount: Model, @unchecked Sendable {
    public static let schema = "credit_accounts"

    @ID(custom: "user_id", generatedBy: .user) public var id: UUID?
    @Field(key: "balance_micro") public var balance: Int64
    @Field(key: "total_granted_micro") public var totalGranted: Int64
    @Field(key: "total_used_micro") public var totalUsed: Int64
    @Field(key: "total_expired_micro") public var totalExpired: Int64
    @Field(key: "total_revoked_micro") public var totalRevoked: Int64
    @Field(key: "grant_count") public var grantCount: Int64
    @Field(key: "transaction_count") public var transactionCount: Int64
    /// When the balance last reached zero with a charge left unpaid: the grace period's start.
    @OptionalField(key: "depleted_at") public var depletedAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    public init(userID: UUID) {
        self.id = userID
        balance = 0
        totalGranted = 0
        totalUsed = 0
        totalExpired = 0
        totalRevoked = 0
        grantCount = 0
        transactionCount = 0
    }
}
