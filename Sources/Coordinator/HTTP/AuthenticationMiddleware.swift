import Foundation
import Hummingbird

/// Resolves who is calling: `Authorization: Bearer` (JWT or API token; a bad one is 401 at
/// once) or the dashboard's session cookie. Signed-in API callers then spend from their burst.
struct AuthenticationMiddleware: RouterMiddleware {
    let accounts: AccountService
    let rateLimits: Coordinator.RateLimits

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws
        -> Response
    {
        var context = context
        // The node API authenticates nodes itself, with node tokens.
        if request.uri.path.hasPrefix("/api/v1/node-api/") { return try await next(request, context) }
        if let header = request.headers[.authorization] {
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { throw APIError.unauthorized }
            context.identity = try await accounts.authenticate(
                bearer: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        } else if let token = request.cookies[SessionCookie.name]?.value {
            context.identity = try await accounts.authenticate(sessionToken: token)
        }
        if let identity = context.identity, request.uri.path.hasPrefix("/api/") {
            try await rateLimits.api.enforce(key: identity.userID.uuidString, what: "API requests")
        }
        return try await next(request, context)
    }
}
