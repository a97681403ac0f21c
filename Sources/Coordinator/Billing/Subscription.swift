import FluentKit
import Foundation

/// A user's paid plan: how it is funded, and until when it is paid. The renewal job extends,
/// puts into grace, or ends it; the user's `plan_id` is what limits read.
public final class Subscription: Model, @unchecked Sendable {
    public static let schema = "subscriptions"

    public enum Status: String, Codable, Sendable { case active, grace, canceled }

    @ID(custom: "user_id", generatedBy: .user) public var id: UUID?
    @Field(key: "plan_id") public var planID: String
    @Field(key: "method") public var method: Payment.Method
    @Field(key: "status") public var status: Status
    @Field(key: "current_period_end") public var currentPeriodEnd: Date
    @Field(key: "cancel_at_period_end") public var cancelAtPeriodEnd: Bool
    @OptionalField(key: "grace_ends_at") public var graceEndsAt: Date?
    @OptionalField(key: "stripe_subscription_id") public var stripeSubscriptionID: String?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}
}
