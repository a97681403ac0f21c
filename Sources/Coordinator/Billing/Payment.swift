import FluentKit
import Foundation

/// Money coming in: a card payment through Stripe Checkout, a DCDN token payment, or a plan
/// bought with credits. Credits and plans are delivered once, when it turns `paid`.
public final class Payment: Model, @unchecked Sendable {
    public static let schema = "payments"

    public enum Kind: String, Codable, Sendable { case credits, plan }
    public enum Method: String, Codable, Sendable, CaseIterable { case stripe, token, credits }
    public enum Status: String, Codable, Sendable { case pending, paid, failed }

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "kind") public var kind: Kind
    @Field(key: "method") public var method: Method
    @OptionalField(key: "plan_id") public var planID: String?
    /// Credits bought (kind credits).
    @Field(key: "credits_micro") public var creditsAmount: Int64
    /// What was or is to be paid, after the token discount.
    @Field(key: "amount_micro") public var amount: Int64
    /// The price before any discount.
    @Field(key: "list_price_micro") public var listPrice: Int64
    @Field(key: "status") public var status: Status
    /// Stripe's Checkout Session or invoice ID; the chain transaction for token payments.
    @OptionalField(key: "provider_reference") public var providerReference: String?
    @OptionalField(key: "checkout_url") public var checkoutURL: String?
    /// A renewal rather than a first purchase.
    @Field(key: "renewal") public var renewal: Bool
    @OptionalField(key: "paid_at") public var paidAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    init(
        userID: UUID, kind: Kind, method: Method, planID: String? = nil, credits: Int64 = 0, amount: Int64, listPrice: Int64,
        status: Status = .pending, renewal: Bool = false, paidAt: Date? = nil
    ) {
        self.userID = userID
        self.kind = kind
        self.method = method
        self.planID = planID
        self.creditsAmount = credits
        self.amount = amount
        self.listPrice = listPrice
        self.status = status
        self.renewal = renewal
        self.paidAt = paidAt
    }

    /// Stripe and token payments earn affiliate commission and count as reseller sales;
    /// credit-funded ones do neither.
    var isPaidSale: Bool { method != .credits }
}
