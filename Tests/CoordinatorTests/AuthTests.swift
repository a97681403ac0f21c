import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SMTPKit
import Synchronization
import Testing

@testable import Coordinator

@Suite("Accounts and authentication")
struct AuthTests {
    @Test("register, verify by mail, log in, read /auth/me")
    func fullFlow() async throws {
        try await TestApp.run { app, client in
            let registered = try await client.json(
                .post, "/api/v1/auth/register",
                ["email": "  Alice@Example.COM ", "password": "a long enough password", "referral_code": "FRIEND_1"])
            #expect(registered.status == .created)
            let registration = try registered.decode(AuthController.RegisterResponse.self)
            #expect(registration.user.email == "alice@example.com")
            #expect(registration.user.emailVerified == false)
            #expect(registration.user.plan == "free")
            #expect(registration.verificationSent == true)

            let early = try await client.json(
                .post, "/api/v1/auth/login", ["email": "alice@example.com", "password": "a long enough password"])
            #expect(early.status == .forbidden)
            #expect(early.error?.code == "email_not_verified")

            let token = try #require(app.mailer.verificationToken(for: "alice@example.com"))
            let verified = try await client.json(.get, "/api/v1/auth/verify-email?token=\(token)")
            #expect(verified.status == .ok)
            let reused = try await client.json(.get, "/api/v1/auth/verify-email?token=\(token)")
            #expect(reused.status == .badRequest)
            #expect(reused.error?.code == "invalid_token")

            let login = try await client.json(
                .post, "/api/v1/auth/login", ["email": "ALICE@example.com", "password": "a long enough password"])
            #expect(login.status == .ok)
            let session = try login.decode(AuthController.LoginResponse.self)
            #expect(session.tokenType == "bearer")
            let jwt = session.accessToken
            let me = try await client.json(.get, "/api/v1/auth/me", token: jwt)
            #expect(me.status == .ok)
            let profile = try me.decode(UserResponse.self)
            #expect(profile.email == "alice@example.com")
            #expect(profile.emailVerified == true)
            let stored = try await User.query(on: app.coordinator.store.db).filter(\.$email == "alice@example.com").first()
            #expect(stored?.referralCode == "FRIEND_1")
            #expect(stored?.passwordHash?.hasPrefix("$2") == true, "passwords are stored as bcrypt")
        }
    }

    @Test("bad registrations are refused with the field named")
    func registrationValidation() async throws {
        try await TestApp.run { _, client in
            let weak = try await client.json(.post, "/api/v1/auth/register", ["email": "bob@example.com", "password": "short"])
            #expect(weak.status == .unprocessableContent)
            #expect(weak.error?.field == "password")
            let common = try await client.json(.post, "/api/v1/auth/register", ["email": "bob@example.com", "password": "password123"])
            #expect(common.error?.field == "password")
            let tooLong = try await client.json(
                .post, "/api/v1/auth/register", ["email": "bob@example.com", "password": String(repeating: "ab", count: 40)])
            #expect(tooLong.status == .unprocessableContent)
            let email = try await client.json(
                .post, "/api/v1/auth/register", ["email": "not-an-email", "password": "a long enough password"])
            #expect(email.error?.field == "email")
            let missing = try await client.json(.post, "/api/v1/auth/register", ["email": "bob@example.com"])
            #expect(missing.status == .unprocessableContent)
            #expect(missing.error?.field == "password")
            let wrongType = try await client.json(.post, "/api/v1/auth/register", ["email": 5, "password": "a long enough password"])
            #expect(wrongType.error?.field == "email")
            let referral = try await client.json(
                .post, "/api/v1/auth/register",
                ["email": "bob@example.com", "password": "a long enough password", "referral_code": "<script>"])
            #expect(referral.error?.field == "referral_code")
            let garbage = try await client.execute(
                uri: "/api/v1/auth/register", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{not json")
            ) { $0.status }
            #expect(garbage == .badRequest)
            let form = try await client.execute(
                uri: "/api/v1/auth/register", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "x")
            ) { $0.status }
            #expect(form == .unsupportedMediaType)

            let first = try await client.json(
                .post, "/api/v1/auth/register", ["email": "bob@example.com", "password": "a long enough password"])
            #expect(first.status == .created)
            let duplicate = try await client.json(
                .post, "/api/v1/auth/register", ["email": "BOB@example.com", "password": "another long password"])
            #expect(duplicate.status == .conflict)
            #expect(duplicate.error?.code == "email_taken")
        }
    }

    @Test("wrong passwords, unknown accounts and forged tokens are refused")
    func loginFailures() async throws {
        try await TestApp.run { app, client in
            _ = try await client.signUp(app, email: "carol@example.com")
            let wrong = try await client.json(.post, "/api/v1/auth/login", ["email": "carol@example.com", "password": "not the password"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.error?.code == "invalid_credentials")
            let unknown = try await client.json(
                .post, "/api/v1/auth/login", ["email": "nobody@example.com", "password": "a long enough password"])
            #expect(unknown.status == .unauthorized)
            #expect(unknown.error?.code == "invalid_credentials")
            let forged = try await client.json(.get, "/api/v1/auth/me", token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
            #expect(forged.status == .unauthorized)
            let anonymous = try await client.json(.get, "/api/v1/auth/me")
            #expect(anonymous.status == .unauthorized)
            let badScheme = try await client.json(.get, "/api/v1/auth/me", headers: [.authorization: "Basic Zm9vOmJhcg=="])
            #expect(badScheme.status == .unauthorized)
        }
    }

    @Test("changing the password invalidates older JWTs")
    func passwordChange() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "dave@example.com")
            let wrongCurrent = try await client.json(
                .post, "/api/v1/auth/password", ["current_password": "nope nope nope", "new_password": "a brand new password"], token: jwt)
            #expect(wrongCurrent.status == .forbidden)
            let changed = try await client.json(
                .post, "/api/v1/auth/password", ["current_password": "a long enough password", "new_password": "a brand new password"],
                token: jwt)
            #expect(changed.status == .ok)
            let newJWT = try changed.decode(AuthController.LoginResponse.self).accessToken
            #expect(try await client.json(.get, "/api/v1/auth/me", token: jwt).status == .unauthorized)
            #expect(try await client.json(.get, "/api/v1/auth/me", token: newJWT).status == .ok)
            let oldLogin = try await client.json(
                .post, "/api/v1/auth/login", ["email": "dave@example.com", "password": "a long enough password"])
            #expect(oldLogin.status == .unauthorized)
        }
    }

    @Test("resending verification says the same for unknown addresses")
    func resendVerification() async throws {
        try await TestApp.run { app, client in
            _ = try await client.json(.post, "/api/v1/auth/register", ["email": "erin@example.com", "password": "a long enough password"])
            let known = try await client.json(.post, "/api/v1/auth/resend-verification", ["email": "erin@example.com"])
            let unknown = try await client.json(.post, "/api/v1/auth/resend-verification", ["email": "ghost@example.com"])
            #expect(known.status == .accepted)
            #expect(unknown.status == .accepted)
            let knownDetail = try known.decode(AuthController.DetailResponse.self).detail
            #expect(try knownDetail == unknown.decode(AuthController.DetailResponse.self).detail)
            #expect(app.mailer.messages.withLock { $0.filter { $0.to == ["erin@example.com"] }.count } == 2)
            #expect(app.mailer.messages.withLock { $0.contains { $0.to == ["ghost@example.com"] } } == false)
        }
    }
}

@Suite("API tokens and tenant isolation")
struct APITokenTests {
    @Test("a token is shown once, works as Bearer, and stops working when revoked")
    func tokenLifecycle() async throws {
        try await TestApp.run { app, client in
            let (jwt, _) = try await client.signUp(app, email: "frank@example.com")
            let created = try await client.json(.post, "/api/v1/auth/tokens", ["name": "ci-deploy"], token: jwt)
            #expect(created.status == .created)
            let shown = try created.decode(AuthController.TokenResponse.self)
            let secret = try #require(shown.token)
            #expect(secret.hasPrefix("dcdn_"))
            #expect(secret.hasPrefix(shown.prefix))
            let id = shown.id.uuidString

            let list = try await client.json(.get, "/api/v1/auth/tokens", token: secret)
            #expect(list.status == .ok)
            let listed = try list.decode(AuthController.TokenList.self)
            #expect(listed.total == 1 && listed.tokens.map(\.id) == [shown.id] && listed.tokens.allSatisfy { $0.token == nil })
            #expect(!list.text.contains(secret), "the secret is never listed")
            let stored = try await APIToken.query(on: app.coordinator.store.db).all()
            #expect(stored.allSatisfy { $0.tokenHash != secret && $0.tokenHash.count == 64 }, "stored hashed")

            let empty = try await client.json(.post, "/api/v1/auth/tokens", ["name": "  "], token: jwt)
            #expect(empty.error?.field == "name")

            #expect(try await client.json(.delete, "/api/v1/auth/tokens/\(id)", token: jwt).status == .noContent)
            #expect(try await client.json(.get, "/api/v1/auth/me", token: secret).status == .unauthorized)
        }
    }

    @Test("another tenant's token is not found, and not listed")
    func isolation() async throws {
        try await TestApp.run { app, client in
            let (alice, _) = try await client.signUp(app, email: "alice@example.com")
            let (mallory, _) = try await client.signUp(app, email: "mallory@example.com")
            let created = try await client.json(.post, "/api/v1/auth/tokens", ["name": "alice-token"], token: alice)
            let id = try created.decode(AuthController.TokenResponse.self).id.uuidString
            let attempt = try await client.json(.delete, "/api/v1/auth/tokens/\(id)", token: mallory)
            #expect(attempt.status == .notFound)
            let malloryList = try await client.json(.get, "/api/v1/auth/tokens", token: mallory)
            #expect(try malloryList.decode(AuthController.TokenList.self).total == 0)
            let aliceList = try await client.json(.get, "/api/v1/auth/tokens", token: alice)
            #expect(try aliceList.decode(AuthController.TokenList.self).total == 1)
            #expect(try await client.json(.delete, "/api/v1/auth/tokens/not-a-uuid", token: mallory).status == .notFound)
        }
    }
}
