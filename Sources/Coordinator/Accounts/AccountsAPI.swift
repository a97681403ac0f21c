import Foundation

/// Registration, sign-in, OpenID Connect and API tokens.
extension OpenAPIDocument {
    static var accountsOperations: [Operation] {
        [
            Operation(
                method: "post", path: "/api/v1/auth/register", summary: "Register with email and password (3 per 10 min per IP)",
                tag: "Auth", access: .publicRoute, body: "RegisterRequest",
                responses: [(201, "RegisterResponse"), (409, "Error"), (422, "Error"), (429, "Error")]),
            Operation(
                method: "post", path: "/api/v1/auth/login", summary: "Sign in: returns a JWT (3 per 10 min per IP)", tag: "Auth",
                access: .publicRoute, body: "LoginRequest",
                responses: [(200, "LoginResponse"), (401, "Error"), (403, "Error"), (429, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/verify-email", summary: "Verify an email address with the mailed token", tag: "Auth",
                access: .publicRoute, responses: [(200, "VerifyResponse"), (400, "Error")],
                query: [("token", ["type": "string"], "Token from the verification mail")]),
            Operation(
                method: "post", path: "/api/v1/auth/resend-verification", summary: "Mail a new verification link", tag: "Auth",
                access: .publicRoute, body: "EmailRequest", responses: [(202, "Detail"), (429, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/providers", summary: "Sign-in methods this installation offers", tag: "Auth",
                access: .publicRoute, responses: [(200, "Providers")]),
            Operation(
                method: "get", path: "/api/v1/auth/oidc/start", summary: "Start OpenID Connect sign-in (redirects to the provider)",
                tag: "Auth", access: .publicRoute, responses: [(302, nil), (404, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/oidc/callback",
                summary: "Provider redirect target: finishes sign-in, sets the session cookie", tag: "Auth", access: .publicRoute,
                responses: [(303, nil)],
                query: [("code", ["type": "string"], "Authorization code"), ("state", ["type": "string"], "State from the start")]),
            Operation(
                method: "get", path: "/api/v1/auth/me", summary: "The signed-in user", tag: "Auth", access: .user,
                responses: [(200, "User")]),
            Operation(
                method: "post", path: "/api/v1/auth/password",
                summary: "Change password (signs out other sessions, invalidates older JWTs)", tag: "Auth", access: .user,
                body: "PasswordChange", responses: [(200, "LoginResponse"), (403, "Error"), (422, "Error")]),
            Operation(
                method: "post", path: "/api/v1/auth/tokens", summary: "Create a named API token (shown once)", tag: "Auth", access: .user,
                body: "TokenRequest", responses: [(201, "Token"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/tokens", summary: "List your API tokens", tag: "Auth", access: .user,
                responses: [(200, "TokenList")]),
            Operation(
                method: "delete", path: "/api/v1/auth/tokens/{id}", summary: "Revoke an API token", tag: "Auth", access: .user,
                responses: [(204, nil), (404, "Error")]),
        ]
    }
}

extension AccountsArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.accountsOperations }
}
