import DCDNCore
import Foundation
import Hummingbird

/// `/api/v1/auth/*`: the product guide's §15 Auth endpoints plus tokens, me and password.
struct AuthController {
    let accounts: AccountService
    let rateLimits: Coordinator.RateLimits
    let settings: DCDNSettings

    struct RegisterRequest: Decodable {
        var email: String
        var password: String
        var referralCode: String?
    }
    struct LoginRequest: Decodable {
        var email: String
        var password: String
    }
    struct EmailRequest: Decodable { var email: String }
    struct PasswordChangeRequest: Decodable {
        var currentPassword: String?
        var newPassword: String
    }
    struct TokenRequest: Decodable { var name: String }

    struct RegisterResponse: ResponseCodable {
        var user: UserResponse
        var verificationSent: Bool
        var detail: String
    }
    struct LoginResponse: ResponseCodable {
        var accessToken: String
        var tokenType = "bearer"
        var expiresIn: Int
        var user: UserResponse
    }
    struct VerifyResponse: ResponseCodable {
        var verified = true
        var user: UserResponse
    }
    struct DetailResponse: ResponseCodable { var detail: String }
    struct TokenResponse: ResponseCodable {
        var id: UUID
        var name: String
        var prefix: String
        var createdAt: Date?
        var lastUsedAt: Date?
        /// Only in the response that creates it.
        var token: String?

        init(_ token: APIToken, secret: String? = nil) {
            id = token.id!
            name = token.name
            prefix = token.prefix
            createdAt = token.createdAt
            lastUsedAt = token.lastUsedAt
            self.token = secret
        }
    }
    struct TokenList: ResponseCodable {
        var tokens: [TokenResponse]
        var total: Int
    }
    struct ProvidersResponse: ResponseEncodable {
        struct OIDC: Encodable {
            var issuer: String
            var label: String
            var startUrl: String
        }
        var password = true
        var oidc: OIDC?
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let auth = api.group("auth")
        auth.post("register") { request, context -> EditedResponse<RegisterResponse> in
            try await rateLimits.register.enforce(key: context.clientKey, what: "registrations from your address")
            let body = try await request.decode(as: RegisterRequest.self, context: context)
            let registration = try await accounts.register(email: body.email, password: body.password, referralCode: body.referralCode)
            let detail =
                registration.verificationSent
                ? "Check your inbox for the verification link."
                : "Your account exists but the verification mail could not be sent; ask for a new one."
            return EditedResponse(
                status: .created,
                response: RegisterResponse(
                    user: UserResponse(registration.user), verificationSent: registration.verificationSent, detail: detail))
        }
        auth.post("login") { request, context -> LoginResponse in
            try await rateLimits.login.enforce(key: context.clientKey, what: "sign-in attempts from your address")
            let body = try await request.decode(as: LoginRequest.self, context: context)
            let user = try await accounts.login(email: body.email, password: body.password)
            return LoginResponse(
                accessToken: try await accounts.issueAccessToken(for: user), expiresIn: Int(accounts.signer.lifetime),
                user: UserResponse(user))
        }
        auth.get("verify-email") { request, context -> VerifyResponse in
            let user = try await accounts.verifyEmail(token: request.uri.queryParameters["token"].map(String.init) ?? "")
            return VerifyResponse(user: UserResponse(user))
        }
        auth.post("resend-verification") { request, context -> EditedResponse<DetailResponse> in
            try await rateLimits.register.enforce(key: context.clientKey, what: "verification requests from your address")
            let body = try await request.decode(as: EmailRequest.self, context: context)
            try await accounts.resendVerification(email: body.email)
            return EditedResponse(
                status: .accepted, response: DetailResponse(detail: "If that address has an unverified account, a new link is on its way."))
        }
        auth.get("providers") { _, _ -> ProvidersResponse in
            ProvidersResponse(
                oidc: settings.oidc.map { .init(issuer: $0.issuer, label: $0.buttonLabel, startUrl: "/api/v1/auth/oidc/start") }
            )
        }
        auth.get("me") { _, context -> UserResponse in
            UserResponse(try context.requireIdentity().user)
        }
        auth.post("password") { request, context -> LoginResponse in
            let identity = try context.requireIdentity()
            let body = try await request.decode(as: PasswordChangeRequest.self, context: context)
            try await accounts.changePassword(user: identity.user, current: body.currentPassword ?? "", new: body.newPassword)
            try await accounts.endOtherSessions(of: identity.user, keeping: identity.sessionID)
            return LoginResponse(
                accessToken: try await accounts.issueAccessToken(for: identity.user), expiresIn: Int(accounts.signer.lifetime),
                user: UserResponse(identity.user))
        }
        auth.post("tokens") { request, context -> EditedResponse<TokenResponse> in
            let identity = try context.requireIdentity()
            let body = try await request.decode(as: TokenRequest.self, context: context)
            let (token, secret) = try await accounts.createAPIToken(for: identity.user, name: body.name)
            return EditedResponse(status: .created, response: TokenResponse(token, secret: secret))
        }
        auth.get("tokens") { _, context -> TokenList in
            let tokens = try await accounts.apiTokens(of: try context.requireIdentity().user)
            return TokenList(tokens: tokens.map { TokenResponse($0) }, total: tokens.count)
        }
        auth.delete("tokens/:id") { _, context -> HTTPResponse.Status in
            let identity = try context.requireIdentity()
            try await accounts.revokeAPIToken(try context.parameters.uuid("id", what: "API token"), of: identity.user)
            return .noContent
        }
    }
}

extension AppRequestContext {
    /// The key rate limits use for anonymous requests: the client's IP.
    var clientKey: String { clientIP?.description ?? "unknown" }
}
