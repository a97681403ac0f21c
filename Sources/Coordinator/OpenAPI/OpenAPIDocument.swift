import DCDNCore
import Foundation
import ImageKit
import NodeProtocol
import OpenAPIKit

/// The OpenAPI 3.1 description of every API and operability route, served at
/// `/api/v1/openapi.json`. Written by hand next to the routes; a test compares it with the
/// router so that neither can gain a route the other lacks.
public enum OpenAPIDocument {
    enum Access { case publicRoute, user, admin, node }

    /// One route of the API, as an area lists it.
    struct Operation {
        var method: String
        var path: String
        var summary: String
        var tag: String
        var access: Access
        /// The request body's schema name (JSON).
        var body: String? = nil
        /// Status and the body's schema name: `nil` is no body; a name with a slash is a media
        /// type that is not JSON (`text/plain`, `image/*`). Error statuses refer to the shared
        /// error responses.
        var responses: [(Int, String?)]
        var query: [(name: String, schema: JSONSchema, description: String)] = []
        /// Takes an `Idempotency-Key` header (money calls).
        var idempotent = false

        var operationID: String {
            method
                + path.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "{", with: "").replacingOccurrences(
                    of: "}", with: "")
        }

        /// The OpenAPIKit operation.
        var built: OpenAPI.Operation {
            var parameters: OpenAPI.Parameter.Array = query.map {
                .b(.query(name: $0.name, required: false, schema: $0.schema, description: $0.description))
            }
            // Every {name} of the path is a path parameter.
            for piece in path.split(separator: "{").dropFirst() {
                guard let name = piece.split(separator: "}").first else { continue }
                parameters.append(.b(.path(name: String(name), schema: .string)))
            }
            if idempotent {
                parameters.append(
                    .b(
                        .header(
                            name: "Idempotency-Key", required: false, schema: .string,
                            description: "Retries with the same key get the first answer instead of repeating the call")))
            }
            var responses = OpenAPI.Response.Map()
            var all = self.responses
            if access == .user || access == .admin { all += [(401, "Error"), (429, "Error")] }
            if access == .admin { all.append((403, "Error")) }
            if access == .node { all += [(401, "Error"), (403, "Error")] }
            // What the shared request decoding answers: a body that is not JSON, too large, of
            // another media type, or with a field that is not in the schema; a parameter out of range.
            if body != nil { all += [(400, "Error"), (413, "Error"), (415, "Error"), (422, "Error")] }
            if !query.isEmpty || idempotent { all.append((422, "Error")) }
            // The same Idempotency-Key while the first call still runs.
            if idempotent { all.append((409, "Error")) }
            if path.contains("{"), access != .publicRoute { all.append((404, "Error")) }
            // Every operation that reads the database answers 503 database_unavailable (with
            // Retry-After) while it does not answer; the probes and the node API's own answers aside.
            if !all.contains(where: { $0.0 == 503 }), !path.hasSuffix("healthz") { all.append((503, "Error")) }
            for (status, schema) in all {
                let code = OpenAPI.Response.StatusCode.status(code: status)
                if schema == "Error", let name = OpenAPIDocument.errorResponses[status] {
                    responses[code] = .reference(.component(named: name))
                } else if let schema, schema.contains("/") {
                    let media = OpenAPI.ContentType(rawValue: schema) ?? .anyApplication
                    let body: JSONSchema =
                        schema.hasSuffix("json") ? .object : schema.hasPrefix("text/") ? .string : .string(contentEncoding: .binary)
                    responses[code] = .response(description: HTTPStatusText.text(status), content: content(media, body))
                } else if let schema {
                    responses[code] = .response(description: HTTPStatusText.text(status), content: content(.json, ref(schema)))
                } else {
                    responses[code] = .response(description: HTTPStatusText.text(status))
                }
            }
            let security: [OpenAPI.SecurityRequirement] =
                switch access {
                case .publicRoute: []
                case .node: [[.component(named: "node"): []]]
                case .user, .admin: [[.component(named: "bearer"): []]]
                }
            return OpenAPI.Operation(
                tags: [tag], summary: summary, description: access == .admin ? "Requires the admin role." : nil,
                operationId: operationID, parameters: parameters,
                requestBody: body.map { OpenAPI.Request(content: content(.json, ref($0)), required: true) },
                responses: responses, security: security)
        }
    }

    static var page: [(name: String, schema: JSONSchema, description: String)] {
        [
            ("limit", .integer(maximum: (500, exclusive: false), minimum: (1, exclusive: false), defaultValue: 50), "Items per page"),
            ("offset", .integer(minimum: (0, exclusive: false), defaultValue: 0), "Items to skip"),
        ]
    }

    /// Every area's operations, in the order of `ProductAreas.all`.
    static func operations(isDev: Bool) -> [Operation] {
        ProductAreas.all.flatMap { $0.operations(isDev: isDev) }
    }

    static var domainSettings: [String: JSONSchema] {
        [
            "origin": string, "ssl_mode": .string(allowedValues: ["off", "flexible", "full", "strict"]),
            "cache_level": .string(allowedValues: ["standard", "aggressive", "bypass"]),
            "browser_ttl": .integer(maximum: (31_536_000, exclusive: false), minimum: (3600, exclusive: false)),
            "edge_ttl": .integer(maximum: (2_592_000, exclusive: false), minimum: (3600, exclusive: false)),
            "dev_mode": .boolean(description: "true: bypass caching for 3 hours"), "under_attack": boolean,
            "multi_node_redundancy": boolean, "dns_fallback": boolean,
        ]
    }

    /// An object schema; properties not named in `required` may be absent. Keys are sorted so
    /// that the served document is stable.
    static func object(_ properties: [String: JSONSchema], required: [String] = []) -> JSONSchema {
        var ordered = OrderedDictionary<String, JSONSchema>()
        for (key, schema) in properties.sorted(by: { $0.key < $1.key }) {
            ordered[key] = required.contains(key) ? schema : schema.optionalSchemaObject()
        }
        return .object(properties: ordered)
    }
    /// Credits (1 credit = 1 USD), at most six decimals.
    static var amount: JSONSchema { .number(description: "Credits (1 credit = 1 USD), at most six decimals") }
    static var optionalTime: JSONSchema { .string(format: .dateTime, nullable: true) }
    static var optionalInt: JSONSchema { .integer(nullable: true) }
    static var string: JSONSchema { .string }
    static var uuid: JSONSchema { .string(format: .uuid) }
    static var time: JSONSchema { .string(format: .dateTime) }
    static var boolean: JSONSchema { .boolean }
    static var integer: JSONSchema { .integer }
    static var number: JSONSchema { .number }
    static var strings: JSONSchema { .array(items: .string) }
    /// A reference to a schema of `components/schemas`.
    static func ref(_ name: String) -> JSONSchema { .reference(.component(named: name)) }
    /// A page of a list: `{<key>: [<item>], total}`.
    static func list(_ key: String, of item: String) -> JSONSchema {
        object([key: .array(items: ref(item)), "total": .integer], required: [key, "total"])
    }
    /// A body of one media type.
    static func content(_ media: OpenAPI.ContentType, _ schema: JSONSchema) -> OpenAPI.Content.Map {
        [media: .b(OpenAPI.Content(schema: schema))]
    }
    /// Allowed values of a string schema, from a Swift list.
    static func allowed(_ values: [String], description: String? = nil) -> JSONSchema {
        .string(description: description, allowedValues: values.map { AnyCodable($0) })
    }

    /// Every code an error body can carry: the platform's and the image pipeline's.
    static var errorCodes: [String] {
        (APIError.Code.all.map(\.description) + ImageError.Code.allCases.map(\.rawValue)).sorted()
    }

    /// Schemas every area uses.
    static var schemas: [String: JSONSchema] {
        [
            "Error": object(
                [
                    "detail": string,
                    "code": allowed(
                        errorCodes, description: "One of a closed set; 'field' names the request field when the error is about one"),
                    "field": string,
                ], required: ["detail", "code"])
        ]
    }

    /// The document as a typed value (OpenAPI 3.1, OpenAPIKit).
    public static func document(isDev: Bool, publicURL: String) -> OpenAPI.Document {
        var paths = OpenAPI.PathItem.Map()
        for operation in operations(isDev: isDev) {
            let path = OpenAPI.Path(rawValue: operation.path)
            var item = paths[path]?.pathItemValue ?? OpenAPI.PathItem()
            let built = operation.built
            switch operation.method {
            case "get": item.get = built
            case "head": item.head = built
            case "post": item.post = built
            case "put": item.put = built
            case "patch": item.patch = built
            case "delete": item.delete = built
            default: preconditionFailure("unknown method \(operation.method)")
            }
            paths[path] = .b(item)
        }
        var schemaComponents = OpenAPI.ComponentDictionary<JSONSchema>()
        let allSchemas = ProductAreas.all.reduce(schemas) { $0.merging($1.schemas) { first, _ in first } }
        for (name, schema) in allSchemas.sorted(by: { $0.key < $1.key }) {
            schemaComponents[componentKey(name)] = schema
        }
        var responseComponents = OpenAPI.ComponentReferenceDictionary<OpenAPI.Response>()
        for (status, name) in errorResponses.sorted(by: { $0.key < $1.key }) {
            responseComponents[componentKey(name)] = .b(
                OpenAPI.Response(description: HTTPStatusText.text(status), content: content(.json, ref("Error"))))
        }
        return OpenAPI.Document(
            openAPIVersion: .v3_1_1,
            info: .init(
                title: "DCDN API",
                description: "The DCDN coordinator API. Errors are {\"detail\", \"code\", \"field\"}; lists take limit and offset.",
                version: "1"),
            servers: URL(string: publicURL).map { [OpenAPI.Server(url: $0)] } ?? [],
            paths: paths,
            components: OpenAPI.Components(
                schemas: schemaComponents, responses: responseComponents,
                securitySchemes: [
                    "bearer": .b(.http(scheme: "bearer", description: "A JWT from /auth/login or an API token (dcdn_…)")),
                    "node": .b(.http(scheme: "bearer", description: "A node's token, from `dcdn admin node add` or POST /admin/nodes")),
                ]))
    }

    /// The document as JSON, keys sorted.
    public static func json(isDev: Bool, publicURL: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(document(isDev: isDev, publicURL: publicURL))
    }

    /// Error statuses, each described once under `components/responses` with the `Error` body.
    static let errorResponses: [Int: String] = [
        400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 413: "PayloadTooLarge",
        415: "UnsupportedMediaType", 422: "ValidationError", 429: "TooManyRequests", 502: "BadGateway", 503: "Unavailable",
        504: "GatewayTimeout",
    ]

    static func componentKey(_ name: String) -> OpenAPI.ComponentKey {
        guard let key = OpenAPI.ComponentKey(rawValue: name) else { preconditionFailure("bad component name \(name)") }
        return key
    }

    /// Every route as "METHOD /path/{param}", for the completeness test.
    public static func routeKeys(isDev: Bool) -> Set<String> {
        Set(operations(isDev: isDev).map { "\($0.method.uppercased()) \($0.path)" })
    }
}

enum HTTPStatusText {
    static func text(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 302: "Found (redirect)"
        case 303: "See Other"
        case 400: "Bad request"
        case 401: "Not signed in"
        case 402: "Payment required (not enough credits)"
        case 403: "Forbidden"
        case 404: "Not found"
        case 409: "Conflict"
        case 413: "Body too large"
        case 415: "Unsupported media type (send JSON)"
        case 422: "Validation error (names the field)"
        case 429: "Rate limited (Retry-After)"
        case 502: "Bad gateway (the upstream failed)"
        case 503: "Unavailable (a dependency is down; Retry-After)"
        case 504: "Gateway timeout"
        default: "Status \(status)"
        }
    }
}
