import Foundation
import Hummingbird

/// Cross-site request forgery defence for the cookie session (with SameSite=Lax cookies): an
/// unsafe request must come from our own origin when it carries the session cookie or when a
/// browser says where it comes from. Bearer-token requests carry no ambient credential and pass;
/// so do non-browser clients that send neither cookie nor Origin.
struct CSRFMiddleware: RouterMiddleware {
    let publicOrigin: String?
    let corsOrigins: Set<String>

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws
        -> Response
    {
        guard ![.get, .head, .options].contains(request.method) else { return try await next(request, context) }
        if request.headers[.authorization]?.lowercased().hasPrefix("bearer ") == true {
            // A page on an allowed CORS origin may call the API with its own token; nothing ambient.
            if let origin = request.headers[.origin], !isSelf(origin, request), !corsOrigins.contains(origin) {
                throw Self.refusal
            }
            return try await next(request, context)
        }
        let hasSession = request.cookies[SessionCookie.name] != nil
        let origin = request.headers[.origin] ?? request.headers[.referer].flatMap(Self.origin(ofURL:))
        if let origin {
            guard isSelf(origin, request) else { throw Self.refusal }
        } else if hasSession {
            throw Self.refusal
        }
        return try await next(request, context)
    }

    static let refusal = APIError(
        .forbidden, code: .csrfFailed, detail: "Cross-site request refused: the request's Origin is not this site.")

    private func isSelf(_ origin: String, _ request: Request) -> Bool {
        if origin == publicOrigin { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    static func origin(ofURL text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme, let host = url.host else { return nil }
        return url.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }
}
