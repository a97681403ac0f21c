import FluentKit
import Foundation

/// A dashboard sign-in: the browser holds a random token in an HttpOnly cookie; we keep its hash.
public final class Session: Model, @unchecked Sendable {
    public static let schema = "sessions"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "ip") public var ip: String?
    @OptionalField(key: "user_agent") public var userAgent: String?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    public init(userID: UUID, tokenHash: String, expiresAt: Date, ip: String?, userAgent: String?) {
        self.$user.id = userID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.ip = ip
        self.userAgent = userAgent.map { String($0.prefix(255)) }
    }
}

public enum SessionCookie {
    public static let name = "dcdn_session"
}
