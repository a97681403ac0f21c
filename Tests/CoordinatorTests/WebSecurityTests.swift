import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ImageKit
import NIOCore
import OpenAPIKit
import Testing

@testable import Coordinator

/// Signs in through the dashboard form and returns the session cookie.
func dashboardSession(_ client: any TestClientProtocol, email: String, password: String = "a long enough password") async throws -> String {
    let body =
        "email=\(email.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&password=\(password.replacingOccurrences(of: " ", with: "+"))"
    return try await client.execute(
        uri: "/dashboard/login", method: .post,
        headers: [.contentType: "application/x-www-form-urlencoded", .origin: "http://127.0.0.1:8080"], body: ByteBuffer(string: body)
    ) { response in
        #expect(response.status == .found || response.status == .seeOther, "\(String(buffer: response.body))")
        let cookie = try #require(response.headers[.setCookie])
        #expect(cookie.contains("HttpOnly"))
        #expect(cookie.contains("SameSite=Lax"))
        return String(cookie.prefix { $0 != ";" })
    }
}

@Suite("Web security: headers, CORS, CSRF, request IDs")
struct WebSecurityTests {
    @Test("the guide's security headers and a CSP are on every response")
    func headers() async throws {
        try await TestApp.run { _, client in
            for path in ["/api/v1/plans", "/dashboard/login", "/api/v1/nope", "/healthz"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] != nil, "\(path)")
                    #expect(response.headers[HTTPField.Name("X-XSS-Protection")!] == "1; mode=block")
                    #expect(response.headers[.strictTransportSecurity] == "max-age=31536000; includeSubDomains")
                    #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "strict-origin-when-cross-origin")
                    #expect(response.headers[HTTPField.Name("Permissions-Policy")!] == "camera=(), microphone=(), geolocation=()")
                    #expect(response.headers[.contentSecurityPolicy]?.contains("default-src") == true)
                    #expect(response.headers[HTTPField.Name("X-Request-ID")!] != nil)
                }
            }
            let notFound = try await client.json(.get, "/api/v1/nope")
            #expect(notFound.status == .notFound)
            #expect(notFound.error?.code == "not_found")
        }
    }

    @Test("request IDs: a caller's is echoed, otherwise one is made")
    func requestIDs() async throws {
        try await TestApp.run { _, client in
            let echoed = try await client.json(.get, "/healthz", headers: [HTTPField.Name("X-Request-ID")!: "trace-123"])
            #expect(echoed.headers[HTTPField.Name("X-Request-ID")!] == "trace-123")
            let unsafe = try await client.json(.get, "/healthz", headers: [HTTPField.Name("X-Request-ID")!: "<script>"])
            #expect(unsafe.headers[HTTPField.Name("X-Request-ID")!] != "<script>")
        }
    }

    @Test("CORS: only allowlisted origins, never with credentials")
    func cors() async throws {
        try await TestApp.run(.coordinator, ["cors_origins": "https://app.example.com"]) { _, client in
            let allowed = try await client.json(.get, "/api/v1/plans", headers: [.origin: "https://app.example.com"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(allowed.headers[.accessControlAllowCredentials] == nil)
            let other = try await client.json(.get, "/api/v1/plans", headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await client.execute(
                uri: "/api/v1/auth/tokens", method: .options,
                headers: [.origin: "https://app.example.com", .accessControlRequestMethod: "POST"]
            ) { $0 }
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            let refused = try await client.execute(
                uri: "/api/v1/auth/tokens", method: .options,
                headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"]
            ) { $0 }
            #expect(refused.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test("CSRF: cookie-authenticated writes must come from our origin")
    func csrf() async throws {
        try await TestApp.run(.coordinator, ["cors_origins": "https://app.example.com"]) { app, client in
            _ = try await client.signUp(app, email: "victim@example.com")
            let cookie = try await dashboardSession(client, email: "victim@example.com")
            let form = ByteBuffer(string: "name=stolen")
            func createToken(_ headers: HTTPFields) async throws -> HTTPResponse.Status {
                var headers = headers
                headers[.cookie] = cookie
                headers[.contentType] = "application/x-www-form-urlencoded"
                return try await client.execute(uri: "/dashboard/account/tokens", method: .post, headers: headers, body: form) { $0.status }
            }
            #expect(try await createToken([.origin: "https://evil.example"]) == .forbidden)
            #expect(try await createToken([:]) == .forbidden, "no Origin or Referer with a cookie")
            #expect(try await createToken([.referer: "https://evil.example/page"]) == .forbidden)
            #expect(try await createToken([.origin: "http://127.0.0.1:8080"]) == .ok)
            let tokens = try await APIToken.query(on: app.coordinator.store.db).count()
            #expect(tokens == 1, "only the same-origin request created a token")

            // Bearer calls carry no ambient credential; a browser on a non-allowlisted origin is still refused.
            let login = try await client.json(
                .post, "/api/v1/auth/login", ["email": "victim@example.com", "password": "a long enough password"])
            let jwt = try login.decode(AuthController.LoginResponse.self).accessToken
            #expect(try await client.json(.post, "/api/v1/auth/tokens", ["name": "a"], token: jwt).status == .created)
            #expect(
                try await client.json(
                    .post, "/api/v1/auth/tokens", ["name": "b"], token: jwt, headers: [.origin: "https://app.example.com"]
                ).status == .created)
            #expect(
                try await client.json(.post, "/api/v1/auth/tokens", ["name": "c"], token: jwt, headers: [.origin: "https://evil.example"])
                    .status == .forbidden)
        }
    }
}

@Suite("Operability and the API description")
struct OperabilityTests {
    @Test("health, readiness and metrics")
    func endpoints() async throws {
        try await TestApp.run { _, client in
            #expect(try await client.json(.get, "/healthz").decode(OperabilityController.Status.self).status == "ok")
            let ready = try await client.json(.get, "/readyz")
            #expect(ready.status == .ok)
            let readiness = try ready.decode(OperabilityController.Status.self)
            #expect(readiness.status == "ready" && readiness.detail == nil)
            #expect(readiness.database == (TestApp.postgresURL == nil ? "sqlite" : "postgres"))
            _ = try await client.json(.get, "/api/v1/plans")
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"dcdn_http_requests_total{method="GET",route="/api/v1/plans",status="200"}"#))
            #expect(metrics.contains("dcdn_http_request_duration_seconds_bucket"))
        }
    }

    @Test("the OpenAPI document lists exactly the router's routes", arguments: [false, true])
    func openAPICompleteness(isDev: Bool) async throws {
        try await TestApp.run(isDev ? .dev : .coordinator) { app, client in
            let routes = Set(
                buildRouter(app.coordinator).routes.map { route in
                    let path = route.path.description.split(separator: "/").map {
                        $0.hasPrefix(":") ? "{\($0.dropFirst())}" : $0 == "**" ? "{path}" : String($0)
                    }
                    .joined(separator: "/")
                    return "\(route.method.rawValue) /\(path)"
                }.filter { !$0.contains(" /dashboard") && !$0.contains(" /assets") && !$0.hasSuffix(" /") })
            let documented = OpenAPIDocument.routeKeys(isDev: isDev)
            #expect(routes.subtracting(documented).isEmpty, "routes missing from the OpenAPI document")
            #expect(documented.subtracting(routes).isEmpty, "documented routes that do not exist")
            // The served document decodes into OpenAPIKit's types and passes its validation
            // (every reference resolves, operation IDs are unique, security names declared schemes).
            let text = try await client.execute(uri: "/api/v1/openapi.json", method: .get) { String(buffer: $0.body) }
            let document = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(text.utf8))
            try document.validate()
            let resolved = try document.locallyDereferenced()
            #expect(document.openAPIVersion == .v3_1_1)
            #expect(document.paths.keys.contains("/api/v1/auth/register"))
            #expect(document.paths.keys.contains("/api/v1/dev/outbox") == isDev)
            #expect(Set(document.components.securitySchemes.keys.map(\.rawValue)) == ["bearer", "node"])
            for route in resolved.routes {
                for endpoint in route.pathItem.endpoints {
                    let name = "\(endpoint.method.rawValue) \(route.path.rawValue)"
                    let operation = endpoint.operation
                    #expect(operation.operationId != nil, "\(name) has no operation ID")
                    // Every answer with a body says what the body is.
                    for (status, response) in operation.responses
                    where status.rawValue != "204" && !status.rawValue.hasPrefix("3") && endpoint.method != .head {
                        #expect(!response.content.isEmpty, "\(name) → \(status.rawValue) describes no body")
                        for content in response.content.values {
                            #expect(content.schema != nil, "\(name) → \(status.rawValue) has no schema")
                        }
                    }
                    if let body = operation.requestBody {
                        #expect(body.content[.json]?.schema != nil, "\(name) has a request body without a JSON schema")
                    }
                }
            }
            // Error codes are a closed set, and the document lists it.
            guard case .object(_, let error) = try #require(document.components.schemas["Error"]).value,
                case .string(let code, _) = try #require(error.properties["code"]).value
            else { Issue.record("Error schema"); return }
            let listed = Set((code.allowedValues ?? []).compactMap { $0.value as? String })
            #expect(listed == Set(APIError.Code.all.map(\.description) + ImageError.Code.allCases.map(\.rawValue)))
            #expect(listed.isSuperset(of: ["plan_limit_reached", "unknown_field", "validation_error", "role_not_assigned"]))
        }
    }
}
