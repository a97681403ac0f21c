import DCDNCore
import Foundation
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat
import NodeProtocol

/// Who made a request and how they proved it.
public struct Identity: Sendable {
    public enum Method: String, Sendable { case jwt, apiToken = "api_token", session }
    public var user: User
    public var method: Method
    /// The dashboard session, when `method` is `.session` (logout deletes it).
    public var sessionID: UUID?

    public var userID: UUID { user.id! }
}

/// The request context of every coordinator route.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The visitor's address after trusted proxies (set by `ClientAddressMiddleware`).
    public var clientIP: IPAddress?
    public var identity: Identity?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { 1 << 20 }
    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    public var responseEncoder: JSONEncoder { .api }

    /// The signed-in user, or 401.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw APIError.unauthorized }
        return identity
    }

    /// The signed-in admin, or 401/403.
    public func requireAdmin() throws -> Identity {
        let identity = try requireIdentity()
        guard identity.user.role == .admin else { throw APIError.forbidden }
        return identity
    }
}

extension JSONEncoder {
    /// snake_case keys and RFC 3339 UTC times, as the API conventions say.
    public static var api: JSONEncoder {
        let encoder = JSONEncoder.nodeAPI
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension JSONDecoder {
    public static var api: JSONDecoder { .nodeAPI }
}

/// Decodes JSON bodies and turns every decoding failure into a 4xx naming the field.
public struct APIRequestDecoder: RequestDecoder {
    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, code: .unsupportedMediaType, detail: "Send JSON with Content-Type: application/json.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, code: .bodyTooLarge, detail: "The body is larger than \(context.maxUploadSize) bytes.")
        }
        let data = Data(buffer: buffer)
        let value: T
        do {
            value = try JSONDecoder.api.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("The body is not valid JSON.", code: .invalidJson)
        }
        if let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let field = UnknownFields.first(in: json, decoding: T.self)
        {
            throw APIError(.badRequest, code: .unknownField, detail: "\(field): is not a field of this request.", field: field)
        }
        return value
    }

    static func describe(_ error: DecodingError) -> APIError {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map(String.init) ?? snakeCase($0.stringValue) }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .validation(path(context.codingPath + [key]), "is required")
        case .typeMismatch(let type, let context):
            return .validation(path(context.codingPath), "must be \(describe(type))")
        case .valueNotFound(let type, let context):
            return .validation(path(context.codingPath), "must be \(describe(type)), not null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .badRequest("The body is not valid JSON.", code: .invalidJson)
            }
            return .validation(path(context.codingPath), context.debugDescription)
        @unknown default:
            return .badRequest("The body could not be read.", code: .invalidJson)
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type: "a whole number"
        case is Double.Type, is Decimal.Type: "a number"
        default: "a \(type)"
        }
    }

    static func snakeCase(_ key: String) -> String {
        var result = ""
        for character in key {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
