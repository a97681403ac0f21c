import DCDNCore
import Foundation
import Hummingbird

/// The dashboard's session cookie: HttpOnly, SameSite=Lax, Secure when the public URL is HTTPS.
struct SessionCookies {
    let accounts: AccountService
    let publicURL: String
    let lifetimeSeconds: Int

    func cookie(value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: SessionCookie.name, value: value, maxAge: maxAge, path: "/", secure: publicURL.hasPrefix("https://"),
            httpOnly: true, sameSite: .lax)
    }

    /// Starts a session for `user` and sends the browser to the dashboard with its cookie.
    func signIn(_ user: User, request: Request, context: AppRequestContext) async throws -> Response {
        let token = try await accounts.createSession(for: user, ip: context.clientIP?.description, userAgent: request.headers[.userAgent])
        var response = Response.redirect(to: "/dashboard", type: .normal)
        response.setCookie(cookie(value: token, maxAge: lifetimeSeconds))
        return response
    }
}
