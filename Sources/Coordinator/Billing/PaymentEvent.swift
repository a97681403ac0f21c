import FluentKit
import Foundation

/// A payment notification already handled — a Stripe event ID (`stripe:evt_…`) or a chain
/// transaction (`token:<chain>:<hash>`). Providers retry and may send one twice; this makes
/// the second a no-op.
public final class PaymentEvent: Model, @unchecked Sendable {
    public static let schema = "payment_events"

    @ID(custom: "id", generatedBy: .user) public var id: String?
    @Field(key: "type") public var type: String
    @Timestamp(key: "received_at", on: .create) public var receivedAt: Date?

    public init() {}

    public init(id: String, type: String) {
        self.id = id
        self.type = type
    }
}
