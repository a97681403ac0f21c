import Foundation

/// Why an image request was not answered with an image: the HTTP status and the platform's error
/// body (`{"detail", "code", "field"}`), never a 500 for bad input or a bad source.
public struct ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The closed set of codes an image answer carries; the API document lists them with the
    /// platform's own.
    public enum Code: String, CaseIterable, Sendable {
        case encodeFailed = "encode_failed"
        case imageTooLarge = "image_too_large"
        case imagesUnavailable = "images_unavailable"
        case invalidParameter = "invalid_parameter"
        case sourceForbidden = "source_forbidden"
        case sourceTimeout = "source_timeout"
        case sourceTooLarge = "source_too_large"
        case sourceUnavailable = "source_unavailable"
        case undecodableImage = "undecodable_image"
        case unsupportedImage = "unsupported_image"
    }

    public let status: Int
    public let code: Code
    public let detail: String
    /// The request parameter at fault, for 400s.
    public let field: String?

    public init(status: Int, code: Code, detail: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
    }

    static func parameter(_ field: String, _ detail: String) -> ImageError {
        ImageError(status: 400, code: .invalidParameter, detail: "\(field): \(detail)", field: field)
    }

    static func forbiddenSource(_ detail: String) -> ImageError {
        ImageError(status: 400, code: .sourceForbidden, detail: "url: \(detail)", field: "url")
    }

    static func badSource(_ detail: String) -> ImageError {
        ImageError(status: 502, code: .sourceUnavailable, detail: detail)
    }

    public var description: String { "\(status) \(code): \(detail)" }

    /// The JSON body.
    public var body: Data {
        var object: [String: String] = ["detail": detail, "code": code.rawValue]
        if let field { object["field"] = field }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}
