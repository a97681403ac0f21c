import FluentKit
import Foundation

/// Who redeemed which code, and the grant it made.
public final class PromoRedemption: Model, @unchecked Sendable {
    public static let schema = "promo_redemptions"

    @ID(key: .id) public var id: UUID?
    @Field(key: "promo_id") public var promoID: UUID
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "amount_micro") public var amount: Int64
    @Field(key: "transaction_id") public var transactionID: UUID
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
