import FluentKit
import Foundation

/// A request to be paid the available commission; an operator pays it (Stripe, USD) and marks it paid.
public final class AffiliatePayout: Model, @unchecked Sendable {
    public static let schema = "affiliate_payouts"

    public enum Status: String, Codable, Sendable { case requested, paid }

    @ID(key: .id) public var id: UUID?
    @Field(key: "affiliate_user_id") public var affiliateUserID: UUID
    @Field(key: "amount_micro") public var amount: Int64
    @Field(key: "status") public var status: Status
    @Timestamp(key: "requested_at", on: .create) public var requestedAt: Date?
    @OptionalField(key: "paid_at") public var paidAt: Date?

    public init() {}
}
