import FluentKit
import Foundation

/// A customer, reseller or operator account.
public final class User: Model, @unchecked Sendable {
    public static let schema = "users"

    public enum Role: String, Codable, Sendable, CaseIterable {
        case user, reseller, admin
    }

    @ID(key: .id) public var id: UUID?
    /// Normalised: trimmed and lower-cased; unique.
    @Field(key: "email") public var email: String
    /// bcrypt; nil for accounts that only sign in through OpenID Connect.
    @OptionalField(key: "password_hash") public var passwordHash: String?
    @Field(key: "role") public var role: Role
    @Field(key: "plan_id") public var planID: String
    @OptionalField(key: "email_verified_at") public var emailVerifiedAt: Date?
    /// `issuer|sub` of the linked OpenID Connect identity.
    @OptionalField(key: "oidc_subject") public var oidcSubject: String?
    /// The affiliate code the user registered with, if any.
    @OptionalField(key: "referral_code") public var referralCode: String?
    /// Bumped when the password changes: JWTs issued before carry an older epoch and stop working.
    @Field(key: "auth_epoch") public var authEpoch: Int
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    public init(email: String, passwordHash: String?, role: Role, planID: String) {
        self.email = email
        self.passwordHash = passwordHash
        self.role = role
        self.planID = planID
        self.authEpoch = 0
    }

    public var isEmailVerified: Bool { emailVerifiedAt != nil }
}
