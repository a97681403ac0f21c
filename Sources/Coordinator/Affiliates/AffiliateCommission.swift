import FluentKit
import Foundation

/// 80 % of one Stripe or token payment by a referred customer.
public final class AffiliateCommission: Model, @unchecked Sendable {
    public static let schema = "affiliate_commissions"

    @ID(key: .id) public var id: UUID?
    @Field(key: "affiliate_user_id") public var affiliateUserID: UUID
    @Field(key: "referred_user_id") public var referredUserID: UUID
    @Field(key: "payment_id") public var paymentID: UUID
    @Field(key: "payment_amount_micro") public var paymentAmount: Int64
    @Field(key: "amount_micro") public var amount: Int64
    @Field(key: "percent") public var percent: Int
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
