import Foundation

/// Why an image request was not answered with an image: the HTTP status and the platform's error
/// body (`{"detail", "code", "field"}`), never a 500 for bad input or a bad source.
public struct ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let detail: String
    /// The request parameter at fault, for 400s.
    public let field: String?

    public init(status: Int, code: String, detail: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
    }

    static func parameter(_ field: String, _ detail: String) -> ImageError {
        ImageError(status: 400, code: "invalid_parameter", detail: "\(field): \(detail)", field: field)
    }

    static func forbiddenSource(_ detail: String) -> ImageError {
        ImageError(status: 400, code: "source_forbidden", detail: "url: \(detail)", field: "url")
    }

    static func badSource(_ detail: String) -> ImageError {
        ImageError(status: 502, code: "source_unavailable", detail: detail)
    }

    public var description: String { "\(status) \(code): \(detail)" }

    /// The JSON body.
    public var body: Data {
        var object: [String: String] = ["detail": detail, "code": code]
        if let field { object["field"] = field }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}
