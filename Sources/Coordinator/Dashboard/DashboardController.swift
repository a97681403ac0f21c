import DCDNCore
import FluentKit
import Foundation
import Hummingbird

/// The server-rendered dashboard: the same services as the API, driven by HTML forms, signed in
/// with an HttpOnly SameSite=Lax session cookie.
struct DashboardController {
    let coordinator: Coordinator
    var accounts: AccountService { coordinator.accounts }
    var renderer: DashboardRenderer { coordinator.dashboard }

    /// Fixed messages selected by `?notice=`, so no page reflects text from the URL.
    static let notices: [String: String] = [
        "registered": "Account created. Check your inbox for the verification link, then sign in.",
        "registered_mail_failed": "Account created, but the verification mail could not be sent. Ask for a new link below.",
        "verify_sent": "If that address has an unverified account, a new link is on its way.",
        "signed_out": "You are signed out.",
        "password_changed": "Password changed. Other sessions were signed out.",
        "token_revoked": "API token revoked.",
        "user_updated": "User updated.",
        "plan_updated": "Plan updated.",
        "oidc_failed": "Signing in with your identity provider did not work. Try again or use your password.",
        "domain_added": "Domain added. Set the nameservers below at your registrar; it becomes active once DCDN sees them.",
        "domain_deleted": "Domain removed.",
        "settings_saved": "Settings saved. Nodes pick them up within seconds.",
        "certificate_requested": "Certificate requested: DCDN is asking the certificate authority now.",
        "record_added": "Record added.",
        "record_updated": "Record updated.",
        "record_deleted": "Record deleted.",
        "rule_added": "Page rule added. Nodes apply it within seconds.",
        "rule_deleted": "Page rule deleted.",
        "purged": "Purge sent to every edge node.",
        "firewall_saved": "Firewall settings saved. Edge nodes enforce them within seconds.",
        "rate_limit_added": "Rate limit added.",
        "rate_limit_deleted": "Rate limit deleted.",
        "firewall_rule_added": "Firewall rule added.",
        "firewall_rule_deleted": "Firewall rule deleted.",
        "under_attack_on": "Under Attack Mode is on: every visitor gets a JavaScript challenge first.",
        "under_attack_off": "Under Attack Mode is off.",
        "promo_redeemed": "Promo code redeemed: the credits are in your balance.",
        "payment_received": "Thank you: the payment is being confirmed; credits or your plan follow within moments.",
        "payment_canceled": "The payment was canceled; nothing was charged.",
        "plan_active": "Your plan is active now, paid with credits.",
        "plan_canceled": "Your plan will not renew; it lasts until the paid period ends.",
        "token_payment_pending":
            "Send the amount in DCDN tokens with the payment reference shown below; the plan activates when the payment is confirmed on chain.",
        "payout_requested": "Payout requested. The operator pays it by Stripe (USD).",
        "promo_created": "Promo code created.",
        "promo_toggled": "Promo code updated.",
        "credits_granted": "Credits granted.",
        "credits_revoked": "Credits revoked.",
        "reseller_created": "Reseller created.",
        "reseller_updated": "Reseller's tier changed.",
        "tier_updated": "Tier limits saved.",
        "payout_paid": "Payout marked paid.",
    ]

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/") { request, _ in
            // An affiliate's link (/?ref=CODE) leads to sign-up with the code filled in.
            if let ref = request.uri.queryParameters["ref"].map({ PromoService.sanitize(String($0)) }), !ref.isEmpty {
                return Response.redirect(to: "/dashboard/register?ref=\(ref.prefix(64))")
            }
            return Response.redirect(to: "/dashboard")
        }
        router.get("assets/:name") { _, context in
            guard let response = renderer.asset(context.parameters.get("name") ?? "") else { throw HTTPError(.notFound) }
            return response
        }
        let dashboard = router.group("dashboard")
        dashboard.get { request, context in
            guard let identity = context.identity else { return Response.redirect(to: "/dashboard/login") }
            return try await overview(identity, request: request)
        }
        dashboard.get("login") { request, context in
            if context.identity != nil { return Response.redirect(to: "/dashboard") }
            return renderer.page("login", title: "Sign in", identity: nil, notice(request))
        }
        dashboard.post("login") { request, context in
            let form = try await FormData(request, context: context)
            do {
                try coordinator.limit(coordinator.rateLimits.login, key: context.clientKey, what: "sign-in attempts from your address")
                let user = try await accounts.login(email: form.string("email"), password: form.string("password"))
                return try await signIn(user, request: request, context: context)
            } catch let error as APIError {
                var response = renderer.page(
                    "login", title: "Sign in", identity: nil, status: error.status,
                    ["error": error.detail, "emailValue": form.string("email"), "unverified": error.code == "email_not_verified"])
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
                try coordinator.limit(coordinator.rateLimits.register, key: context.clientKey, what: "registrations from your address")
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
            try coordinator.limit(coordinator.rateLimits.register, key: context.clientKey, what: "verification requests from your address")
            try? await accounts.resendVerification(email: form.string("email"))
            return Response.redirect(to: "/dashboard/login?notice=verify_sent")
        }
        dashboard.post("logout") { _, context in
            if let session = context.identity?.sessionID { try await accounts.endSession(session) }
            var response = Response.redirect(to: "/dashboard/login?notice=signed_out")
            response.setCookie(sessionCookie(value: "", maxAge: 0))
            return response
        }
        dashboard.get("account") { request, context in
            try await account(try signedIn(context), request: request)
        }
        dashboard.post("account/tokens") { request, context in
            let identity = try signedIn(context)
            let form = try await FormData(request, context: context)
            do {
                let (token, secret) = try await accounts.createAPIToken(for: identity.user, name: form.string("name"))
                return try await account(identity, request: request, extra: ["newToken": secret, "newTokenName": token.name])
            } catch let error as APIError {
                return try await account(identity, request: request, status: error.status, extra: ["tokenError": error.detail])
            }
        }
        dashboard.post("account/tokens/:id/revoke") { _, context in
            let identity = try signedIn(context)
            try await accounts.revokeAPIToken(try context.parameters.uuid("id", what: "API token"), of: identity.user)
            return Response.redirect(to: "/dashboard/account?notice=token_revoked")
        }
        dashboard.post("account/password") { request, context in
            let identity = try signedIn(context)
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
        DomainsDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        CDNDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        ImagesDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        SecurityDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        BillingDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        CreditsAdminDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        NodesDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        AdminDashboard(coordinator: coordinator).addRoutes(to: dashboard)
        if coordinator.settings.isDev { DevDashboard(coordinator: coordinator).addRoutes(to: dashboard) }
    }

    /// Signed-in pages send visitors without a session to the sign-in page.
    func signedIn(_ context: AppRequestContext) throws -> Identity {
        guard let identity = context.identity else {
            throw HTTPError(.seeOther, headers: [.location: "/dashboard/login"])
        }
        return identity
    }

    func notice(_ request: Request) -> [String: Any] {
        guard let key = request.uri.queryParameters["notice"].map(String.init), let text = Self.notices[key] else { return [:] }
        return ["notice": text]
    }

    func sessionCookie(value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: SessionCookie.name, value: value, maxAge: maxAge, path: "/", secure: coordinator.publicURL.hasPrefix("https://"),
            httpOnly: true, sameSite: .lax)
    }

    func signIn(_ user: User, request: Request, context: AppRequestContext) async throws -> Response {
        let token = try await accounts.createSession(for: user, ip: context.clientIP?.description, userAgent: request.headers[.userAgent])
        var response = Response.redirect(to: "/dashboard", type: .normal)
        response.setCookie(sessionCookie(value: token, maxAge: coordinator.settings.sessionLifetimeSeconds))
        return response
    }

    func overview(_ identity: Identity, request: Request) async throws -> Response {
        let (plan, usage) = try await coordinator.planLimits.usage(of: identity.user)
        return renderer.page(
            "overview", title: "Overview", identity: identity, active: "overview",
            notice(request).merging([
                "planName": plan.name, "verified": identity.user.isEmailVerified,
                "limits": Self.usageRows(usage),
            ]) { $1 })
    }

    func account(_ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, extra: [String: Any] = [:]) async throws
        -> Response
    {
        let (plan, usage) = try await coordinator.planLimits.usage(of: identity.user)
        let tokens = try await accounts.apiTokens(of: identity.user).map { token -> [String: Any] in
            [
                "id": token.id!.uuidString, "name": token.name, "prefix": token.prefix, "created": Self.format(token.createdAt),
                "lastUsed": token.lastUsedAt.map { Self.format($0) } ?? "never",
            ]
        }
        var values: [String: Any] = notice(request)
        values["planName"] = plan.name
        values["planPrice"] = plan.monthlyPriceMicro.map { "\(Credits(micro: $0)) credits / month" } ?? "custom pricing"
        values["role"] = identity.user.role.rawValue
        values["limits"] = Self.usageRows(usage)
        values["tokens"] = tokens
        values["hasTokens"] = !tokens.isEmpty
        values["hasPassword"] = identity.user.passwordHash != nil
        return renderer.page(
            "account", title: "Account", identity: identity, active: "account", status: status, values.merging(extra) { $1 })
    }

    static func usageRows(_ usage: [PlanLimits.Usage]) -> [[String: Any]] {
        usage.map { row in
            let percent: Int = {
                guard let used = row.used, let maximum = row.maximum, maximum > 0 else { return 0 }
                return Int(min(100, used * 100 / maximum))
            }()
            return [
                "title": row.title, "used": row.used.map(String.init) ?? "—",
                "maximum": row.maximum.map(String.init) ?? "Unlimited", "percent": percent,
                "metered": row.used != nil && row.maximum != nil,
            ]
        }
    }

    static func format(_ date: Date?) -> String {
        guard let date else { return "" }
        return date.formatted(
            .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon)) + " UTC"
    }
}
