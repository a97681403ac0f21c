import DCDNCore
import HTTPTypes
import Hummingbird

/// The product guide's §14 headers on every response, and a Content-Security-Policy that lets
/// the dashboard load only its own scripts, styles and images.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var apiPolicy: String { "default-src 'none'; frame-ancestors 'self'" }
    static var dashboardPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for (name, value) in SecurityHeaders.all {
            let field = HTTPField.Name(name)!
            if response.headers[field] == nil { response.headers[field] = value }
        }
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = request.uri.path.hasPrefix("/api/") ? Self.apiPolicy : Self.dashboardPolicy
        }
        return response
    }
}
