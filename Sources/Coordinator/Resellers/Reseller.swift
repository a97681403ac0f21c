import FluentKit
import Foundation

/// A partner who hands out credits through their own promo codes.
public final class Reseller: Model, @unchecked Sendable {
    public static let schema = "resellers"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "company_name") public var companyName: String
    @Field(key: "tier") public var tier: String
    /// Stripe and token payments by the reseller's customers; credit-funded ones never count.
    @Field(key: "total_paid_sales") public var totalPaidSales: Int
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
