import Hummingbird

/// Strict CORS for the API: only origins on the operator's allowlist get CORS headers, and
/// never with credentials, so a browser page elsewhere can call the API with a Bearer token but
/// never with the dashboard's cookie.
struct StrictCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/"), let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        let allowed = allowedOrigins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [.vary: "Origin"]
            if allowed {
                headers[.accessControlAllowOrigin] = origin
                headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE"
                headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Idempotency-Key"
                headers[.accessControlMaxAge] = "600"
            }
            return Response(status: allowed ? .noContent : .forbidden, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[values: .vary].append("Origin")
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = "Retry-After, X-Request-ID"
        }
        return response
    }
}
