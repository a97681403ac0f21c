import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import HummingbirdBcrypt
import Logging
import NIOPosix
import SMTPKit
import Synchronization

/// Accounts and their credentials: registration, email verification, passwords, JWTs, dashboard
/// sessions and API tokens. Controllers for the API and the dashboard both call this.
public struct AccountService: Sendable {
    let store: DatabaseStore
    let mailer: any OutboundMailer
    let signer: AccessTokenSigner
    let settings: DCDNSettings
    let publicURL: String
    let logger: Logger

    static let apiTokenPrefix = "dcdn_"
    private static let timingHash = Mutex<[Int: String]>([:])

    var db: any Database { store.db }

    // MARK: Registration and verification

    public struct Registration: Sendable {
        public var user: User
        public var verificationSent: Bool
    }

    public func register(email rawEmail: String, password: String, referralCode: String?) async throws -> Registration {
        let email = try EmailAddress.normalise(rawEmail)
        try PasswordPolicy.check(password, email: email)
        if let referralCode, !referralCode.isEmpty {
            guard referralCode.count <= 64,
                referralCode.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else { throw APIError.validation("referral_code", "may contain only letters, digits, _ and - (at most 64)") }
        }
        guard try await User.query(on: db).filter(\.$email == email).first() == nil else {
            throw APIError.conflict("An account with this email already exists.", code: .emailTaken)
        }
        let user = User(email: email, passwordHash: try await hashPassword(password), role: .user, planID: PlanCatalog.defaultPlanID)
        // Affiliate codes are upper case; a link typed in lower case still counts.
        user.referralCode = referralCode?.isEmpty == false ? referralCode?.uppercased() : nil
        do {
            try await user.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw APIError.conflict("An account with this email already exists.", code: .emailTaken)
        }
        let sent = await sendVerification(to: user)
        return Registration(user: user, verificationSent: sent)
    }

    /// Mails a fresh verification link; false (and a log line) when the mail could not go out.
    @discardableResult
    public func sendVerification(to user: User) async -> Bool {
        do {
            let token = Secrets.randomToken()
            try await EmailVerification(
                userID: user.id!, tokenHash: Secrets.hash(token), expiresAt: Date().addingTimeInterval(EmailVerification.lifetime)
            )
            .create(on: db)
            let link = "\(publicURL)/dashboard/verify-email?token=\(token)"
            try await mailer.send(
                MailMessage(
                    from: settings.mail.from, to: [user.email], subject: "Verify your DCDN email address",
                    text: """
                        Welcome to DCDN.

                        Open this link to verify your email address and finish setting up your account:

                        \(link)

                        The link works once and expires in 48 hours. If you did not create an account, ignore this mail.
                        """))
            return true
        } catch {
            logger.error("verification mail failed", metadata: ["user_id": "\(user.id!)", "error": "\(error)"])
            return false
        }
    }

    public func verifyEmail(token: String) async throws -> User {
        guard !token.isEmpty, token.count <= 128 else { throw APIError.validation("token", "is missing or malformed") }
        guard
            let verification = try await EmailVerification.query(on: db).filter(\.$tokenHash == Secrets.hash(token)).with(\.$user).first(),
            verification.usedAt == nil, verification.expiresAt > Date()
        else {
            throw APIError.badRequest("This verification link is invalid, used or expired; request a new one.", code: .invalidToken)
        }
        verification.usedAt = Date()
        try await verification.save(on: db)
        let user = verification.user
        if user.emailVerifiedAt == nil {
            user.emailVerifiedAt = Date()
            try await user.save(on: db)
        }
        return user
    }

    /// Sends a new link when the address belongs to an unverified account; says nothing either
    /// way so the endpoint cannot be used to find accounts.
    public func resendVerification(email rawEmail: String) async throws {
        let email = try EmailAddress.normalise(rawEmail)
        guard let user = try await User.query(on: db).filter(\.$email == email).first(), !user.isEmailVerified else { return }
        await sendVerification(to: user)
    }

    // MARK: Passwords

    public func login(email rawEmail: String, password: String) async throws -> User {
        let email = (try? EmailAddress.normalise(rawEmail)) ?? ""
        let user = email.isEmpty ? nil : try await User.query(on: db).filter(\.$email == email).first()
        // Compare against a real hash even for unknown accounts so timing does not reveal them.
        let hash = user?.passwordHash ?? timingHash()
        let matches = try await verifyPassword(password, hash: hash)
        guard let user, user.passwordHash != nil, matches else {
            throw APIError(.unauthorized, code: .invalidCredentials, detail: "Email or password is wrong.")
        }
        guard user.isEmailVerified else {
            throw APIError(.forbidden, code: .emailNotVerified, detail: "Verify your email address first; we sent you a link.")
        }
        return user
    }

    public func changePassword(user: User, current: String, new: String) async throws {
        if let hash = user.passwordHash {
            guard try await verifyPassword(current, hash: hash) else {
                throw APIError(.forbidden, code: .invalidCredentials, detail: "current_password: is wrong.")
            }
        }
        try PasswordPolicy.check(new, email: user.email, field: "new_password")
        user.passwordHash = try await hashPassword(new)
        user.authEpoch += 1
        try await user.save(on: db)
    }

    func hashPassword(_ password: String) async throws -> String {
        let cost = UInt8(settings.bcryptCost)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verifyPassword(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    private func timingHash() -> String {
        let cost = settings.bcryptCost
        return Self.timingHash.withLock { cache in
            if let hash = cache[cost] { return hash }
            let hash = Bcrypt.hash(Secrets.randomToken(), cost: UInt8(cost))
            cache[cost] = hash
            return hash
        }
    }

    // MARK: Access tokens, sessions and API tokens

    public func issueAccessToken(for user: User) async throws -> String {
        try await signer.sign(userID: user.id!, epoch: user.authEpoch)
    }

    /// Resolves `Authorization: Bearer …`: an API token (`dcdn_…`) or a JWT from login.
    public func authenticate(bearer token: String) async throws -> Identity {
        if token.hasPrefix(Self.apiTokenPrefix) {
            guard let apiToken = try await APIToken.query(on: db).filter(\.$tokenHash == Secrets.hash(token)).with(\.$user).first() else {
                throw APIError.unauthorized
            }
            if (apiToken.lastUsedAt ?? .distantPast) < Date().addingTimeInterval(-60) {
                apiToken.lastUsedAt = Date()
                try await apiToken.save(on: db)
            }
            return Identity(user: apiToken.user, method: .apiToken)
        }
        guard let claims = await signer.verify(token), let user = try await User.find(claims.userID, on: db),
            user.authEpoch == claims.epoch
        else { throw APIError.unauthorized }
        return Identity(user: user, method: .jwt)
    }

    public func createSession(for user: User, ip: String?, userAgent: String?) async throws -> String {
        let token = Secrets.randomToken()
        let session = Session(
            userID: user.id!, tokenHash: Secrets.hash(token),
            expiresAt: Date().addingTimeInterval(TimeInterval(settings.sessionLifetimeSeconds)), ip: ip, userAgent: userAgent)
        try await session.create(on: db)
        return token
    }

    public func authenticate(sessionToken token: String) async throws -> Identity? {
        guard token.count <= 128,
            let session = try await Session.query(on: db).filter(\.$tokenHash == Secrets.hash(token)).with(\.$user).first(),
            session.expiresAt > Date()
        else { return nil }
        return Identity(user: session.user, method: .session, sessionID: session.id)
    }

    public func endSession(_ id: UUID) async throws {
        try await Session.query(on: db).filter(\.$id == id).delete()
    }

    /// Signs the user out everywhere else (after a password change).
    public func endOtherSessions(of user: User, keeping current: UUID?) async throws {
        var query = Session.query(on: db).filter(\.$user.$id == user.id!)
        if let current { query = query.filter(\.$id != current) }
        try await query.delete()
    }

    public func createAPIToken(for user: User, name rawName: String) async throws -> (APIToken, String) {
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...64).contains(name.count) else { throw APIError.validation("name", "must be 1 to 64 characters") }
        let count = try await APIToken.query(on: db).filter(\.$user.$id == user.id!).count()
        guard count < 50 else { throw APIError.conflict("You have 50 API tokens; revoke one first.", code: .tooManyTokens) }
        let secret = Secrets.randomToken(prefix: Self.apiTokenPrefix)
        let token = APIToken(userID: user.id!, name: name, tokenHash: Secrets.hash(secret), prefix: String(secret.prefix(12)))
        try await token.create(on: db)
        return (token, secret)
    }

    public func apiTokens(of user: User) async throws -> [APIToken] {
        try await APIToken.query(on: db).filter(\.$user.$id == user.id!).sort(\.$createdAt, .descending).all()
    }

    /// Deletes one of the user's own tokens; another user's token is "not found".
    public func revokeAPIToken(_ id: UUID, of user: User) async throws {
        guard let token = try await APIToken.query(on: db).filter(\.$id == id).filter(\.$user.$id == user.id!).first() else {
            throw APIError.notFound("API token")
        }
        try await token.delete(on: db)
    }

    // MARK: Accounts made by operators and identity providers

    /// `dcdn admin create-user` and the dev admin: verified at once. Updates the password and
    /// role when the account exists.
    @discardableResult
    /// The account with this address (admin tooling and `dcdn dev`).
    public func user(email: String) async throws -> User {
        guard let user = try await User.query(on: store.db).filter(\.$email == email.lowercased()).first() else {
            throw APIError(.notFound, code: .notFound, detail: "No account \(email)")
        }
        return user
    }

    public func upsertUser(email rawEmail: String, password: String, role: User.Role) async throws -> User {
        let email = try EmailAddress.normalise(rawEmail)
        try PasswordPolicy.check(password, email: email)
        let user =
            try await User.query(on: db).filter(\.$email == email).first()
            ?? User(email: email, passwordHash: nil, role: role, planID: PlanCatalog.defaultPlanID)
        // Re-running with the same password (every `dcdn dev` start) keeps sessions and JWTs valid.
        let unchanged = try await user.passwordHash.asyncMap { try await verifyPassword(password, hash: $0) } ?? false
        if !unchanged {
            user.passwordHash = try await hashPassword(password)
            if user.id != nil { user.authEpoch += 1 }
        }
        user.role = role
        user.emailVerifiedAt = user.emailVerifiedAt ?? Date()
        try await user.save(on: db)
        return user
    }

    /// The account of an OpenID Connect identity: the one linked to it, else the one with its
    /// (provider-verified) email, else a new one.
    public func userForOIDC(issuer: String, subject: String, email rawEmail: String) async throws -> User {
        let key = "\(issuer)|\(subject)"
        if let user = try await User.query(on: db).filter(\.$oidcSubject == key).first() { return user }
        let email = try EmailAddress.normalise(rawEmail)
        let user =
            try await User.query(on: db).filter(\.$email == email).first()
            ?? User(email: email, passwordHash: nil, role: .user, planID: PlanCatalog.defaultPlanID)
        user.oidcSubject = key
        user.emailVerifiedAt = user.emailVerifiedAt ?? Date()
        try await user.save(on: db)
        return user
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
