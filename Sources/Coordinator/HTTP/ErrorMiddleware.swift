import FluentKit
import Foundation
import Hummingbird
import Logging

/// Turns every error into the API's error shape (or an HTML page outside the API), so that no
/// client ever sees a stack trace or an empty 500, and outer middleware sees the real status.
struct ErrorMiddleware: RouterMiddleware {
    let renderer: DashboardRenderer
    /// Asked after an unhandled error: does the database answer now? If not, the request met an
    /// outage, not a fault.
    let databaseAnswers: @Sendable () async -> Bool

    /// Seconds a client is told to wait during a database outage.
    static let outageRetryAfter = 5

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            var apiError = Self.apiError(for: error, context: context)
            var outage = false
            if apiError.code == .internalError, !(await databaseAnswers()) {
                // A dependency that is down is a 503 the client can retry, never a 500.
                context.logger.warning("database unavailable", metadata: ["error": "\(String(reflecting: error))"])
                apiError = APIError(
                    .serviceUnavailable, code: .databaseUnavailable,
                    detail: "The database is not answering (maintenance or an outage); nothing was changed. Try again shortly.")
                apiError.headers[.retryAfter] = String(Self.outageRetryAfter)
                outage = true
            }
            if request.uri.path.hasPrefix("/api/") || request.uri.path.hasPrefix("/metrics") {
                return try apiError.response(from: request, context: context)
            }
            var response =
                outage
                ? renderer.maintenancePage(retryAfter: Self.outageRetryAfter)
                : renderer.errorPage(status: apiError.status, message: apiError.detail, signedIn: context.identity != nil)
            for field in apiError.headers { response.headers.append(field) }
            return response
        }
    }

    static func apiError(for error: any Error, context: AppRequestContext) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            let code: APIError.Code =
                switch error.status {
                case .notFound: .notFound
                case .methodNotAllowed: .methodNotAllowed
                case .contentTooLarge: .bodyTooLarge
                case .unauthorized: .unauthorized
                case .forbidden: .forbidden
                default: error.status.code < 500 ? .badRequest : .internalError
                }
            let detail = error.body ?? (error.status == .notFound ? "No such page or endpoint." : error.status.reasonPhrase)
            var apiError = APIError(error.status, code: code, detail: detail)
            apiError.headers = error.headers
            return apiError
        case let error as any DatabaseError where error.isConstraintFailure:
            // A safety net: services check what requests refer to; a reference that slipped
            // past them is the client's (an ID of nothing, a row still in use), never a 500.
            context.logger.warning("constraint failure", metadata: ["error": "\(String(reflecting: error))"])
            return APIError(
                .conflict, code: .constraintViolation,
                detail: "A record this request refers to does not exist, or one it removes is in use.")
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return APIError(
                .internalServerError, code: .internalError,
                detail:
                    "Something went wrong on our side; quote request ID \(context.logger[metadataKey: "request_id"] ?? "\(context.id)") to the operator."
            )
        }
    }
}
