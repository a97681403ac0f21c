import Foundation
import Hummingbird

/// An error the API answers with: an HTTP status and `{"detail": …, "code": …, "field": …}`.
/// The code is one of the closed set `APIError.Code`; factory functions make call sites read as
/// sentences.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: Code
    public var detail: String
    /// The request field that is wrong, for validation errors.
    public var field: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: Code, detail: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
    }

    public static func validation(_ field: String, _ detail: String) -> APIError {
        APIError(.unprocessableContent, code: .validationError, detail: "\(field): \(detail)", field: field)
    }
    public static func badRequest(_ detail: String, code: Code = .badRequest) -> APIError {
        APIError(.badRequest, code: code, detail: detail)
    }
    public static let unauthorized = APIError(.unauthorized, code: .unauthorized, detail: "Sign in or send a valid Bearer token.")
    public static let forbidden = APIError(.forbidden, code: .forbidden, detail: "Your role does not allow this.")
    public static func notFound(_ what: String) -> APIError {
        APIError(.notFound, code: .notFound, detail: "\(what) not found.")
    }
    public static func conflict(_ detail: String, code: Code = .conflict) -> APIError {
        APIError(.conflict, code: code, detail: detail)
    }
    public static func rateLimited(retryAfter seconds: Int, what: String) -> APIError {
        var error = APIError(.tooManyRequests, code: .rateLimited, detail: "Too many \(what); try again in \(seconds) s.")
        error.headers[.retryAfter] = String(seconds)
        return error
    }

    struct Body: Encodable {
        var detail: String
        var code: String
        var field: String?
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let data = try JSONEncoder().encode(Body(detail: detail, code: code.description, field: field))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
