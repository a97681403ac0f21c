import DCDNCore
import Foundation
import Hummingbird

/// Dashboard → sign-in, sign-up, email verification, sign-out and Account & API tokens.
struct AccountsDashboard {
    let accounts: AccountService
    let renderer: DashboardRenderer
    let planLimits: PlanLimits
    let rateLimits: Coordinator.RateLimits
    let sessions: SessionCookies

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("login") { request, context in
            if context.identity != nil { return Response.redirect(to: "/dashboard") }
            return renderer.page("login", title: "Sign in", identity: nil, renderer.notice(request))
        }
        dashboard.post("login") { request, context in
            let form = try await FormData(request, context: context)
            do {
                try await rateLimits.login.enforce(key: context.clientKey, what: "sign-in attempts from your address")
                let user = try await accounts.login(email: form.string("email"), password: form.string("password"))
                return try await sessions.signIn(user, request: request, context: context)
            } catch let error as APIError {
                var response = renderer.page(
                    "login", title: "Sign in", identity: nil, status: error.status,
                    ["error": error.detail, "emailValue": form.string("email"), "unverified": error.code == .emailNotVerified])
                for field in error.headers { response.headers.append(field) }
                return response
            }
        }
        dashboard.get("register") { request, context in
            renderer.page(
                "register", title: "Create your account", identity: nil,
                ["referralValue": request.uri.queryParameters["ref"].map(String.init) ?? ""])
        }
        dashboard.post("register") { request, context in
            let form = try await FormData(request, context: context)
            do {
                try await rateLimits.register.enforce(key: context.clientKey, what: "registrations from your address")
                let registration = try await accounts.register(
                    email: form.string("email"), password: form.string("password"), referralCode: form["referral_code"])
                return Response.redirect(
                    to: "/dashboard/login?notice=\(registration.verificationSent ? "registered" : "registered_mail_failed")")
            } catch let error as APIError {
                return renderer.page(
                    "register", title: "Create your account", identity: nil, status: error.status,
                    ["error": error.detail, "emailValue": form.string("email"), "referralValue": form.string("referral_code")])
            }
        }
        dashboard.get("verify-email") { request, context in
            do {
                let user = try await accounts.verifyEmail(token: request.uri.queryParameters["token"].map(String.init) ?? "")
                return renderer.page("verified", title: "Email verified", identity: context.identity, ["verifiedEmail": user.email])
            } catch let error as APIError {
                return renderer.page(
                    "verified", title: "Verification failed", identity: context.identity, status: error.status, ["error": error.detail])
            }
        }
        dashboard.post("resend-verification") { request, context in
            let form = try await FormData(request, context: context)
            try await rateLimits.register.enforce(key: context.clientKey, what: "verification requests from your address")
            try? await accounts.resendVerification(email: form.string("email"))
            return Response.redirect(to: "/dashboard/login?notice=verify_sent")
        }
        dashboard.post("logout") { _, context in
            if let session = context.identity?.sessionID { try await accounts.endSession(session) }
            var response = Response.redirect(to: "/dashboard/login?notice=signed_out")
            response.setCookie(sessions.cookie(value: "", maxAge: 0))
            return response
        }
        dashboard.get("account") { request, context in
            try await account(try context.requirePage(), request: request)
        }
        dashboard.post("account/tokens") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            do {
                let (token, secret) = try await accounts.createAPIToken(for: identity.user, name: form.string("name"))
                return try await account(identity, request: request, extra: ["newToken": secret, "newTokenName": token.name])
            } catch let error as APIError {
                return try await account(identity, request: request, status: error.status, extra: ["tokenError": error.detail])
            }
        }
        dashboard.post("account/tokens/:id/revoke") { _, context in
            let identity = try context.requirePage()
            try await accounts.revokeAPIToken(try context.parameters.uuid("id", what: "API token"), of: identity.user)
            return Response.redirect(to: "/dashboard/account?notice=token_revoked")
        }
        dashboard.post("account/password") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            do {
                guard form.string("new_password") == form.string("confirm_password") else {
                    throw APIError.validation("confirm_password", "does not match the new password")
                }
                try await accounts.changePassword(
                    user: identity.user, current: form.string("current_password"), new: form.string("new_password"))
                try await accounts.endOtherSessions(of: identity.user, keeping: identity.sessionID)
                return Response.redirect(to: "/dashboard/account?notice=password_changed")
            } catch let error as APIError {
                return try await account(identity, request: request, status: error.status, extra: ["passwordError": error.detail])
            }
        }
    }

    func account(_ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, extra: [String: Any] = [:]) async throws
        -> Response
    {
        let (plan, usage) = try await planLimits.usage(of: identity.user)
        let tokens = try await accounts.apiTokens(of: identity.user).map { token -> [String: Any] in
            [
                "id": token.id!.uuidString, "name": token.name, "prefix": token.prefix,
                "created": DashboardRenderer.format(token.createdAt),
                "lastUsed": token.lastUsedAt.map { DashboardRenderer.format($0) } ?? "never",
            ]
        }
        var values: [String: Any] = renderer.notice(request)
        values["planName"] = plan.name
        values["planPrice"] = plan.monthlyPriceMicro.map { "\(Credits(micro: $0)) credits / month" } ?? "custom pricing"
        values["role"] = identity.user.role.rawValue
        values["limits"] = DashboardRenderer.usageRows(usage)
        values["tokens"] = tokens
        values["hasTokens"] = !tokens.isEmpty
        values["hasPassword"] = identity.user.passwordHash != nil
        return renderer.page(
            "account", title: "Account", identity: identity, active: "account", status: status, values.merging(extra) { $1 })
    }
}
