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
        let defaults: [(HTTPField.Name, String)] = [
            (HTTPField.Name("X-Frame-Options")!, "SAMEORIGIN"),
            (.xContentTypeOptions, "nosniff"),
            (HTTPField.Name("X-XSS-Protection")!, "1; mode=block"),
            (.strictTransportSecurity, "max-age=31536000; includeSubDomains"),
            (HTTPField.Name("Referrer-Policy")!, "strict-origin-when-cross-origin"),
            (HTTPField.Name("Permissions-Policy")!, "camera=(), microphone=(), geolocation=()"),
            (.contentSecurityPolicy, request.uri.path.hasPrefix("/api/") ? Self.apiPolicy : Self.dashboardPolicy),
        ]
        for (name, value) in defaults where response.headers[name] == nil {
            response.headers[name] = value
        }
        return response
    }
}
