import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import Coordinator

@Suite("Dashboard")
struct DashboardTests {
    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .origin: "http://127.0.0.1:8080"]

    func page(_ client: any TestClientProtocol, _ path: String, cookie: String? = nil) async throws -> (
        HTTPResponse.Status, String, HTTPFields
    ) {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: path, method: .get, headers: headers) { ($0.status, String(buffer: $0.body), $0.headers) }
    }

    @Test("signed-out visitors are sent to sign in; pages render")
    func signedOut() async throws {
        try await TestApp.run { _, client in
            let (rootStatus, _, rootHeaders) = try await page(client, "/")
            #expect(rootStatus.code / 100 == 3)
            #expect(rootHeaders[.location] == "/dashboard")
            let (status, _, headers) = try await page(client, "/dashboard/account")
            #expect(status == .seeOther)
            #expect(headers[.location] == "/dashboard/login")
            let (loginStatus, login, _) = try await page(client, "/dashboard/login")
            #expect(loginStatus == .ok)
            #expect(login.contains("<form method=\"post\" action=\"/dashboard/login\""))
            #expect(!login.contains("oidc-login"), "no provider button unless configured")
            let (_, css, cssHeaders) = try await page(client, "/assets/app.css")
            #expect(css.contains(".sidebar"))
            #expect(cssHeaders[.contentType]?.hasPrefix("text/css") == true)
            let (missing, html, _) = try await page(client, "/dashboard/nowhere")
            #expect(missing == .notFound)
            #expect(html.contains("<html"))
        }
    }

    @Test("register, verify, sign in, create a token, sign out — through forms")
    func journey() async throws {
        try await TestApp.run { app, client in
            let registered = try await client.execute(
                uri: "/dashboard/register", method: .post, headers: Self.formHeaders,
                body: ByteBuffer(string: "email=gina%40example.com&password=a+long+enough+password&referral_code=")
            ) { $0 }
            #expect(registered.headers[.location] == "/dashboard/login?notice=registered")
            let token = try #require(app.mailer.verificationToken(for: "gina@example.com"))
            let (_, verified, _) = try await page(client, "/dashboard/verify-email?token=\(token)")
            #expect(verified.contains("gina@example.com</strong> is verified"))

            let cookie = try await dashboardSession(client, email: "gina@example.com")
            let (_, overview, _) = try await page(client, "/dashboard", cookie: cookie)
            #expect(overview.contains("Your plan: Free"))
            #expect(overview.contains("Uptime monitors"))
            let (_, account, _) = try await page(client, "/dashboard/account", cookie: cookie)
            #expect(account.contains("gina@example.com"))
            #expect(!account.contains("Users</a>"), "no admin section for customers")

            var headers = Self.formHeaders
            headers[.cookie] = cookie
            let created = try await client.execute(
                uri: "/dashboard/account/tokens", method: .post, headers: headers, body: ByteBuffer(string: "name=laptop")
            ) { String(buffer: $0.body) }
            #expect(created.contains("id=\"new-token\">dcdn_"))
            let (_, again, _) = try await page(client, "/dashboard/account", cookie: cookie)
            #expect(!again.contains("id=\"new-token\""), "a token is shown once")
            #expect(again.contains("laptop"))

            let (adminStatus, _, _) = try await page(client, "/dashboard/admin/users", cookie: cookie)
            #expect(adminStatus == .forbidden)

            let out = try await client.execute(uri: "/dashboard/logout", method: .post, headers: headers) { $0 }
            #expect(out.headers[.location] == "/dashboard/login?notice=signed_out")
            let (after, _, _) = try await page(client, "/dashboard/account", cookie: cookie)
            #expect(after == .seeOther, "the session ended on the server")
        }
    }

    @Test("a bad password on the form shows the error and keeps the email")
    func badLogin() async throws {
        try await TestApp.run { app, client in
            _ = try await client.signUp(app, email: "hal@example.com")
            let (status, body) = try await client.execute(
                uri: "/dashboard/login", method: .post, headers: Self.formHeaders,
                body: ByteBuffer(string: "email=hal%40example.com&password=wrong")
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(status == .unauthorized)
            #expect(body.contains("Email or password is wrong."))
            #expect(body.contains("value=\"hal@example.com\""))
            // The error is the summary at the top of main, which the page's script focuses.
            #expect(body.contains(#"<div class="error error-summary" id="error-summary" role="alert" tabindex="-1">"#))
        }
    }

    @Test("a failed form names the field its error is about, for the page to mark it invalid")
    func errorField() async throws {
        try await TestApp.run { app, client in
            _ = try await client.signUp(app, email: "fields@example.com")
            let cookie = try await dashboardSession(client, email: "fields@example.com")
            var headers = Self.formHeaders
            headers[.cookie] = cookie
            let (status, body) = try await client.execute(
                uri: "/dashboard/domains", method: .post, headers: headers,
                body: ByteBuffer(string: "domain=not+a+domain&origin_ip=203.0.113.7")
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(status == .unprocessableContent)
            #expect(body.contains(#"id="error-summary" role="alert" tabindex="-1" data-field="domain""#), "\(body)")
            #expect(FormError.field(namedIn: "domain: is not a valid name") == "domain")
            #expect(FormError.field(namedIn: "Email or password is wrong.") == nil)
            #expect(FormError.field(namedIn: "Sign in again: your session ended.") == nil)
        }
    }

    @Test("admins change a user's plan from the users page")
    func adminPages() async throws {
        try await TestApp.run { app, client in
            try await app.coordinator.accounts.upsertUser(email: "root@example.com", password: "a long enough password", role: .admin)
            let (_, customerID) = try await client.signUp(app, email: "ivy@example.com")
            let cookie = try await dashboardSession(client, email: "root@example.com")
            let (_, users, _) = try await page(client, "/dashboard/admin/users", cookie: cookie)
            #expect(users.contains("ivy@example.com"))
            var headers = Self.formHeaders
            headers[.cookie] = cookie
            let updated = try await client.execute(
                uri: "/dashboard/admin/users/\(customerID.lowercased())", method: .post, headers: headers,
                body: ByteBuffer(string: "role=user&plan_id=pro")
            ) { $0.headers[.location] }
            #expect(updated == "/dashboard/admin/users?notice=user_updated")
            let user = try await User.find(UUID(uuidString: customerID), on: app.coordinator.store.db)
            #expect(user?.planID == "pro")
            let (_, plans, _) = try await page(client, "/dashboard/admin/plans", cookie: cookie)
            #expect(plans.contains("name=\"limit_domains\""))
        }
    }

    @Test("dev mode keeps mail in the outbox, readable in the dashboard and the API")
    func devOutbox() async throws {
        try await TestApp.run(.dev) { _, client in
            _ = try await client.json(.post, "/api/v1/auth/register", ["email": "jo@example.com", "password": "a long enough password"])
            let outbox = try await client.json(.get, "/api/v1/dev/outbox?to=jo@example.com").decode(DevOutboxController.MessageList.self)
            #expect(outbox.total == 1)
            let message = try #require(outbox.messages.first)
            #expect(message.to == ["jo@example.com"])
            #expect(message.body.contains("/dashboard/verify-email?token="))
            let (_, html, _) = try await page(client, "/dashboard/outbox/\(message.id.uuidString.lowercased())")
            #expect(html.contains("class=\"mail-link\""))
        }
    }
}
