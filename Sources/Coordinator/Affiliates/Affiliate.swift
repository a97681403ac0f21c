import FluentKit
import Foundation

/// A member of the affiliate program and their referral code.
public final class Affiliate: Model, @unchecked Sendable {
    public static let schema = "affiliates"

    @ID(custom: "user_id", generatedBy: .user) public var id: UUID?
    @Field(key: "code") public var code: String
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
