import FluentKit
import Foundation

/// One line of a user's credit ledger. The amounts of an account's transactions add up to its
/// balance; `balance_after` is the balance right after this one.
public final class CreditTransaction: Model, @unchecked Sendable {
    public static let schema = "credit_transactions"

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case grant, spend, expire, revoke, refund
    }

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "sequence") public var sequence: Int64
    @Field(key: "tx_type") public var kind: Kind
    /// Signed: grants and refunds add, the rest subtract.
    @Field(key: "amount_micro") public var amount: Int64
    @Field(key: "balance_after_micro") public var balanceAfter: Int64
    @Field(key: "category") public var category: String
    @Field(key: "description") public var description: String
    @OptionalField(key: "grant_id") public var grantID: UUID?
    /// Unique per user: a retried call finds the transaction it made the first time.
    @Field(key: "idempotency_key") public var idempotencyKey: String
    /// For spends: how much has been refunded so far.
    @Field(key: "refunded_micro") public var refunded: Int64
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
