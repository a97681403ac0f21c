import FluentKit
import Foundation

/// Credits given to a user at once (an admin grant, a promo code, a card purchase, a refund),
/// spent oldest first. `remaining` falls as spends take from it; it never rises.
public final class CreditGrant: Model, @unchecked Sendable {
    public static let schema = "credit_grants"

    public enum Source: String, Codable, Sendable, CaseIterable {
        case admin, promo, purchase, refund
    }

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    /// Order within the account: FIFO spends the lowest first.
    @Field(key: "sequence") public var sequence: Int64
    @Field(key: "amount_micro") public var amount: Int64
    @Field(key: "remaining_micro") public var remaining: Int64
    @Field(key: "source") public var source: Source
    @OptionalField(key: "campaign") public var campaign: String?
    @Field(key: "description") public var description: String
    /// nil never expires (the default).
    @OptionalField(key: "expires_at") public var expiresAt: Date?
    @OptionalField(key: "granted_by") public var grantedBy: UUID?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
