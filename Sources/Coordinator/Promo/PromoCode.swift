import FluentKit
import Foundation

/// A code users redeem for credits, made by an admin for a campaign or by a reseller within
/// their tier's limits.
public final class PromoCode: Model, @unchecked Sendable {
    public static let schema = "promo_codes"

    @ID(key: .id) public var id: UUID?
    /// As created; matching is case-insensitive through `code_key`.
    @Field(key: "code") public var code: String
    @Field(key: "code_key") public var codeKey: String
    @Field(key: "credit_amount_micro") public var creditAmount: Int64
    @OptionalField(key: "campaign") public var campaign: String?
    /// nil is unlimited.
    @OptionalField(key: "max_uses") public var maxUses: Int?
    @Field(key: "per_user_limit") public var perUserLimit: Int
    @Field(key: "uses") public var uses: Int
    @OptionalField(key: "expires_at") public var expiresAt: Date?
    /// Days the redeemed credits last; nil never expires.
    @OptionalField(key: "credit_expires_in_days") public var creditExpiresInDays: Int?
    @Field(key: "active") public var active: Bool
    @Field(key: "created_by") public var createdBy: UUID
    @OptionalField(key: "reseller_id") public var resellerID: UUID?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
