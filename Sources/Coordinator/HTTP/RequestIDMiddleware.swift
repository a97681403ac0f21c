import Hummingbird
import Logging

/// Every response carries `X-Request-ID` and every log line of the request its `request_id`.
/// A caller's own ID is kept when it is a plausible token, so traces join across services.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let incoming = request.headers[.xRequestID].flatMap { value in
            (1...64).contains(value.count) && value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
                ? value : nil
        }
        let id = incoming ?? context.id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.xRequestID] = id
        return response
    }
}
