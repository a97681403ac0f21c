import Foundation
import OpenAPIKit

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
                query: [("token", .string, "Token from the verification mail")]),
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
                responses: [(303, nil), (404, "Error")],
                query: [("code", .string, "Authorization code"), ("state", .string, "State from the start")]),
            Operation(
                method: "get", path: "/api/v1/auth/me", summary: "The signed-in user", tag: "Auth", access: .user,
                responses: [(200, "User")]),
            Operation(
                method: "post", path: "/api/v1/auth/password",
                summary: "Change password (signs out other sessions, invalidates older JWTs)", tag: "Auth", access: .user,
                body: "PasswordChange", responses: [(200, "LoginResponse"), (403, "Error"), (422, "Error")]),
            Operation(
                method: "post", path: "/api/v1/auth/tokens", summary: "Create a named API token (shown once)", tag: "Auth", access: .user,
                body: "TokenRequest", responses: [(201, "Token"), (409, "Error"), (422, "Error")]),
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
    static var schemas: [String: JSONSchema] { OpenAPIDocument.accountsSchemas }
}

extension OpenAPIDocument {
    static var accountsSchemas: [String: JSONSchema] {
        [
            "RegisterRequest": object(
                [
                    "email": .string(format: .email), "password": .string(minLength: 10),
                    "referral_code": string,
                ], required: ["email", "password"]),
            "RegisterResponse": object(
                ["user": ref("User"), "verification_sent": boolean, "detail": string], required: ["user", "verification_sent"]),
            "LoginRequest": object(["email": string, "password": string], required: ["email", "password"]),
            "LoginResponse": object(
                ["access_token": string, "token_type": string, "expires_in": .integer, "user": ref("User")],
                required: ["access_token", "token_type", "expires_in", "user"]),
            "VerifyResponse": object(["verified": boolean, "user": ref("User")], required: ["verified", "user"]),
            "EmailRequest": object(["email": string], required: ["email"]),
            "Providers": object(
                ["password": boolean, "oidc": object(["issuer": string, "label": string, "start_url": string])], required: ["password"]),
            "User": object(
                [
                    "id": uuid, "email": string, "role": .string(allowedValues: User.Role.allCases.map(\.rawValue).map { AnyCodable($0) }),
                    "plan": string,
                    "email_verified": boolean, "has_password": boolean, "sign_in_with_provider": boolean, "created_at": time,
                ],
                required: ["id", "email", "role", "plan", "email_verified"]),
            "PasswordChange": object(["current_password": string, "new_password": string], required: ["new_password"]),
            "TokenRequest": object(["name": .string(minLength: 1, maxLength: 64)], required: ["name"]),
            "Token": object(
                [
                    "id": uuid, "name": string, "prefix": string, "created_at": time, "last_used_at": time,
                    "token": .string(description: "Only in the creating response"),
                ], required: ["id", "name", "prefix"]),
            "TokenList": list("tokens", of: "Token"),
        ]
    }
}
