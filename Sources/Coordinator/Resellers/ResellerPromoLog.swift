import FluentKit
import Foundation

/// Credits a reseller distributed: one line per redemption of one of their codes. A user's
/// first line makes them that reseller's customer.
public final class ResellerPromoLog: Model, @unchecked Sendable {
    public static let schema = "reseller_promo_log"

    @ID(key: .id) public var id: UUID?
    @Field(key: "reseller_id") public var resellerID: UUID
    @Field(key: "promo_id") public var promoID: UUID
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "amount_micro") public var amount: Int64
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
