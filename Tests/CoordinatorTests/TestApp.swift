import DCDNCore
import FluentKit
import FluentPostgresDriver
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import NodeProtocol
import SMTPKit
import SQLKit
import Synchronization
import Testing

@testable import Coordinator

/// Captures outgoing mail so tests can follow links.
final class RecordingMailer: OutboundMailer {
    let messages = Mutex<[MailMessage]>([])

    func send(_ message: MailMessage) async throws {
        messages.withLock { $0.append(message) }
    }

    /// The token in the newest verification link sent to `email`.
    func verificationToken(for email: String) -> String? {
        let body = messages.withLock { $0.last { $0.to.contains(email) }?.text }
        guard let body, let range = body.range(of: "token=") else { return nil }
        return String(body[range.upperBound...].prefix { !$0.isWhitespace })
    }
}

/// One coordinator on a database of its own: a new SQLite file, or — when
/// DCDN_TEST_DATABASE_URL points at a PostgreSQL server — a new database on it, dropped after.
struct TestApp {
    let coordinator: Coordinator
    let mailer: RecordingMailer

    static var postgresURL: String? { ProcessInfo.processInfo.environment["DCDN_TEST_DATABASE_URL"] }

    static func run(
        _ role: DCDNSettings.Role = .coordinator, _ overrides: [String: String] = [:],
        paymentProvider: (any PaymentProvider)? = nil, clock: ManualClock? = nil,
        _ body: @Sendable (TestApp, any TestClientProtocol) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcdn-test-\(UUID().uuidString)").path
        var values = [
            "data_dir": directory, "bcrypt_cost": "4", "rate_limit_login": "1000/60", "rate_limit_register": "1000/60",
            "rate_limit_api_burst": "1000", "rate_limit_api_rate": "1000", "secret_key": String(repeating: "k", count: 40),
        ]
        var databaseName: String?
        if let url = postgresURL {
            let name = "dcdn_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
            // A copy of one migrated template: migrating every test's database anew took most of the run.
            try await Self.postgresAdmin(url, "CREATE DATABASE \(name) TEMPLATE \(try await template.value)")
            values["database_url"] = Self.url(url, database: name)
            databaseName = name
        }
        values.merge(overrides) { $1 }
        let settings = try DCDNSettings.make(role: role, values)
        let mailer = RecordingMailer()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let coordinator =
            if let clock {
                try await Coordinator(
                    settings: settings, publicURL: "http://127.0.0.1:8080", mailer: role == .dev ? nil : mailer,
                    paymentProvider: paymentProvider, clock: clock, logger: logger)
            } else {
                try await Coordinator(
                    settings: settings, publicURL: "http://127.0.0.1:8080", mailer: role == .dev ? nil : mailer,
                    paymentProvider: paymentProvider, logger: logger)
            }
        do {
            try await coordinator.store.migrate()
            let app = buildApplication(coordinator, host: "127.0.0.1", port: 0)
            try await app.test(.live) { client in try await body(TestApp(coordinator: coordinator, mailer: mailer), client) }
        } catch {
            await coordinator.store.shutdown()
            try? await cleanUp(directory: directory, database: databaseName)
            throw error
        }
        await coordinator.store.shutdown()
        try await cleanUp(directory: directory, database: databaseName)
    }

    /// The migrated database every PostgreSQL test's database is copied from
    /// (`CREATE DATABASE … TEMPLATE`), made once per test run (the throwaway server of
    /// scripts/with-postgres.sh goes with it).
    static let template = Task<String, any Error> {
        guard let url = postgresURL else { return "" }
        let name = "dcdn_template_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await postgresAdmin(url, "CREATE DATABASE \(name)")
        var logger = Logger(label: "test.template")
        logger.logLevel = .warning
        let settings = try DCDNSettings.make(
            role: .coordinator,
            [
                "data_dir": FileManager.default.temporaryDirectory.appendingPathComponent("dcdn-template-\(UUID().uuidString)").path,
                "database_url": Self.url(url, database: name),
            ])
        let store = try DatabaseStore(settings: settings, logger: logger)
        do {
            try await store.migrate()
        } catch {
            await store.shutdown()
            throw error
        }
        // No connection may stay open to a template while it is copied.
        await store.shutdown()
        return name
    }

    static func cleanUp(directory: String, database: String?) async throws {
        try? FileManager.default.removeItem(atPath: directory)
        if let database, let url = postgresURL { try await postgresAdmin(url, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
    }

    static func url(_ url: String, database: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + database
        return components.string!
    }

    /// Runs one statement on the server the URL names (its own database stays untouched).
    static func postgresAdmin(_ url: String, _ statement: String) async throws {
        let databases = Databases(threadPool: NIOThreadPool.singleton, on: MultiThreadedEventLoopGroup.singleton)
        databases.use(try .postgres(url: url), as: .psql)
        do {
            let sql =
                databases.database(logger: Logger(label: "test.postgres"), on: MultiThreadedEventLoopGroup.singleton.any())
                as! any SQLDatabase
            try await sql.raw(SQLQueryString(stringLiteral: statement)).run()
        } catch {
            await databases.shutdownAsync()
            throw error
        }
        await databases.shutdownAsync()
    }
}

/// A JSON response: its status, headers and text, read through `decode` (the API's own
/// response types) or `error` (the error body), never as a loose dictionary.
struct JSONResponse {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String

    /// The body decoded into the API's own response type, with the API's decoder (snake_case,
    /// ISO 8601 dates), as a client generated from the OpenAPI document would read it. Fails the
    /// test when a field is missing or of another type.
    func decode<Body: Decodable>(_ type: Body.Type = Body.self) throws -> Body {
        do {
            return try JSONDecoder.api.decode(Body.self, from: Data(text.utf8))
        } catch {
            Issue.record("\(Body.self) does not decode from \(status.code) \(text): \(error)")
            throw error
        }
    }

    /// An error body (`{"detail", "code", "field"}`).
    struct ErrorBody: Decodable, Equatable {
        var detail: String
        var code: String
        var field: String?
    }
    var error: ErrorBody? { try? JSONDecoder.api.decode(ErrorBody.self, from: Data(text.utf8)) }
}

extension TestClientProtocol {
    @discardableResult
    func json(
        _ method: HTTPRequest.Method, _ path: String, _ body: [String: Any]? = nil, token: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> JSONResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        if let body {
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))
        }
        return try await execute(uri: path, method: method, headers: headers, body: buffer) { response in
            JSONResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    /// `GET /node-api/config` decoded into the node API's own type (`query` without the `?`).
    func nodeConfig(_ query: String = "", token: String) async throws -> NodeConfigSnapshot {
        let response = try await json(.get, "/api/v1/node-api/config" + (query.isEmpty ? "" : "?" + query), token: token)
        #expect(response.status == .ok, "\(response.text)")
        return try JSONDecoder.nodeAPI.decode(NodeConfigSnapshot.self, from: Data(response.text.utf8))
    }

    /// Registers, verifies through the mailed link and signs in; returns the JWT and user ID.
    func signUp(_ app: TestApp, email: String, password: String = "a long enough password") async throws -> (token: String, id: String) {
        let registered = try await json(.post, "/api/v1/auth/register", ["email": email, "password": password])
        #expect(registered.status == .created, "\(registered.text)")
        let token = try #require(app.mailer.verificationToken(for: email.lowercased()))
        let verified = try await json(.get, "/api/v1/auth/verify-email?token=\(token)")
        #expect(verified.status == .ok, "\(verified.text)")
        #expect(try verified.decode(AuthController.VerifyResponse.self).user.emailVerified)
        let login = try await json(.post, "/api/v1/auth/login", ["email": email, "password": password])
        #expect(login.status == .ok, "\(login.text)")
        let session = try login.decode(AuthController.LoginResponse.self)
        #expect(session.tokenType == "bearer" && session.user.email == email.lowercased())
        return (session.accessToken, session.user.id.uuidString)
    }

    /// An admin made the way `dcdn admin create-user` makes one, signed in.
    func signInAdmin(_ app: TestApp, email: String = "root@example.com") async throws -> String {
        try await app.coordinator.accounts.upsertUser(email: email, password: "admin password 123", role: .admin)
        let login = try await json(.post, "/api/v1/auth/login", ["email": email, "password": "admin password 123"])
        let session = try login.decode(AuthController.LoginResponse.self)
        #expect(session.user.role == "admin")
        return session.accessToken
    }
}
