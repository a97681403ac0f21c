import Foundation
import Hummingbird
import Logging

/// The browser legs of OpenID Connect sign-in. Both answer 404 `oidc_not_configured` when the
/// operator has not configured a provider.
struct OIDCController {
    let accounts: AccountService
    let sessions: SessionCookies
    let oidc: OIDCLogin?
    let publicURL: String

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("auth/oidc/start") { _, _ in
            let oidc = try configured()
            let (url, cookie) = try await oidc.start()
            var response = Response.redirect(to: url, type: .found)
            response.setCookie(attemptCookie(cookie, maxAge: Int(OIDCLogin.attemptLifetime)))
            return response
        }
        api.get("auth/oidc/callback") { request, context in
            let oidc = try configured()
            let query = request.uri.queryParameters
            var response: Response
            do {
                let identity = try await oidc.finish(
                    code: query["code"].map(String.init), state: query["state"].map(String.init),
                    error: query["error"].map(String.init), cookie: request.cookies[OIDCLogin.cookieName]?.value)
                let user = try await accounts.userForOIDC(
                    issuer: identity.issuer, subject: identity.subject, email: identity.email)
                response = try await sessions.signIn(user, request: request, context: context)
            } catch {
                context.logger.warning("OpenID Connect sign-in failed", metadata: ["error": "\(error)"])
                response = Response.redirect(to: "/dashboard/login?notice=oidc_failed", type: .normal)
            }
            response.setCookie(attemptCookie("", maxAge: 0))
            return response
        }
    }

    func configured() throws -> OIDCLogin {
        guard let oidc = oidc else {
            throw APIError(.notFound, code: .oidcNotConfigured, detail: "This installation has no OpenID Connect provider configured.")
        }
        return oidc
    }

    func attemptCookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: OIDCLogin.cookieName, value: value, maxAge: maxAge, path: "/api/v1/auth/oidc",
            secure: publicURL.hasPrefix("https://"), httpOnly: true, sameSite: .lax)
    }
}
