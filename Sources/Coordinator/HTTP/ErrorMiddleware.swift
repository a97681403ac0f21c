import FluentKit
import Foundation
import Hummingbird
import Logging

/// Turns every error into the API's error shape (or an HTML page outside the API), so that no
/// client ever sees a stack trace or an empty 500, and outer middleware sees the real status.
struct ErrorMiddleware: RouterMiddleware {
    let renderer: DashboardRenderer

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, context: context)
            if request.uri.path.hasPrefix("/api/") || request.uri.path.hasPrefix("/metrics") {
                return try apiError.response(from: request, context: context)
            }
            var response = renderer.errorPage(status: apiError.status, message: apiError.detail, signedIn: context.identity != nil)
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
