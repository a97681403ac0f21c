import FluentKit
import Foundation

/// A pending email-address check: the link's token is random, stored hashed, valid 48 hours, once.
public final class EmailVerification: Model, @unchecked Sendable {
    public static let schema = "email_verifications"
    public static let lifetime: TimeInterval = 48 * 3600

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "used_at") public var usedAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    public init(userID: UUID, tokenHash: String, expiresAt: Date) {
        self.$user.id = userID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
    }
}
