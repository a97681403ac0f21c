import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import Coordinator

@Suite("Rate limits")
struct RateLimitTests {
    @Test("login: 3 per 10 minutes per client IP, then 429 with Retry-After")
    func login() async throws {
        try await TestApp.run(.coordinator, ["rate_limit_login": "3/600"]) { app, client in
            for _ in 0..<3 {
                let attempt = try await client.json(.post, "/api/v1/auth/login", ["email": "x@example.com", "password": "whatever it is"])
                #expect(attempt.status == .unauthorized)
            }
            let limited = try await client.json(.post, "/api/v1/auth/login", ["email": "x@example.com", "password": "whatever it is"])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.error?.code == "rate_limited")
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap(Int.init))
            // In memory (SQLite: one process) a token comes back after 600/3 s; counted in
            // PostgreSQL for every replica, the next 600 s window starts at most 600 s on.
            let bound = app.coordinator.store.engine == .postgres ? 600 : 200
            #expect((1...bound).contains(retryAfter))
        }
    }

    @Test("register: 3 per 10 minutes per client IP")
    func register() async throws {
        try await TestApp.run(.coordinator, ["rate_limit_register": "3/600"]) { _, client in
            for index in 0..<3 {
                let attempt = try await client.json(
                    .post, "/api/v1/auth/register", ["email": "r\(index)@example.com", "password": "a long enough password"])
                #expect(attempt.status == .created)
            }
            let limited = try await client.json(
                .post, "/api/v1/auth/register", ["email": "r9@example.com", "password": "a long enough password"])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test("API: a burst of 20 per user, then 429")
    func apiBurst() async throws {
        try await TestApp.run(.coordinator, ["rate_limit_api_burst": "20", "rate_limit_api_rate": "0.01"]) { app, client in
            let (jwt, _) = try await client.signUp(app, email: "burst@example.com")
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<21 { statuses.append(try await client.json(.get, "/api/v1/auth/me", token: jwt).status) }
            #expect(statuses.prefix(20).allSatisfy { $0 == .ok })
            #expect(statuses.last == .tooManyRequests)
            // Another user has a bucket of their own.
            let (other, _) = try await client.signUp(app, email: "other@example.com")
            #expect(try await client.json(.get, "/api/v1/auth/me", token: other).status == .ok)
        }
    }

    @Test("trusted proxies: X-Forwarded-For counts only behind one")
    func forwardedFor() {
        let middleware = ClientAddressMiddleware(trustedProxies: [CIDR("10.0.0.0/8")!])
        let proxy = IPAddress("10.1.2.3")
        #expect(middleware.clientIP(peer: proxy, forwardedFor: ["203.0.113.9, 10.0.0.7"])?.description == "203.0.113.9")
        #expect(middleware.clientIP(peer: IPAddress("198.51.100.1"), forwardedFor: ["203.0.113.9"])?.description == "198.51.100.1")
        #expect(middleware.clientIP(peer: proxy, forwardedFor: ["garbage"])?.description == "10.1.2.3")
    }
}

@Suite("Plans and limits")
struct PlanTests {
    @Test("the guide's plans are seeded and public")
    func catalog() async throws {
        try await TestApp.run { _, client in
            let response = try await client.json(.get, "/api/v1/plans")
            #expect(response.status == .ok)
            let list = try response.decode(PlansController.PlanList.self)
            let plans = list.plans
            #expect(list.total == 5 && plans.map(\.id) == ["free", "standard", "pro", "business", "enterprise"])
            // A limit is a number, or null (present) where unlimited.
            let free = try #require(plans.first).limits
            #expect(free["domains"] == .some(3))
            #expect(free["monitors"] == .some(2))
            #expect(free["email_routes"] == .some(5))
            #expect(free["agent_runs_per_day"] == .some(100))
            let pro = plans[2].limits
            #expect(pro["domains"] == .some(nil), "Pro has unlimited domains")
            #expect(pro["included_tokens"] == .some(1_000_000))
            #expect(plans[1].monthlyPrice == Credits(5))
            // `monthly_price` is always sent: null for the custom-priced plan.
            #expect(plans[4].monthlyPrice == nil && response.text.contains(#""monthly_price":null"#))
        }
    }

    @Test("over the limit is 403 plan_limit_reached naming the limit")
    func limitRefusal() async throws {
        try await TestApp.run { app, client in
            let (_, id) = try await client.signUp(app, email: "limited@example.com")
            let user = try #require(try await User.find(UUID(uuidString: id), on: app.coordinator.store.db))
            var limits = app.coordinator.planLimits
            limits.register(.domains) { userID, _ in userID == user.id ? 3 : 0 }
            let refusal = await #expect(throws: APIError.self) { try await limits.check(.domains, for: user, on: app.coordinator.store.db) }
            #expect(refusal?.code == .planLimitReached)
            #expect(refusal?.status == .forbidden)
            #expect(refusal?.field == "domains")
            #expect(refusal?.detail.contains("domains") == true)
            // Pro has no domain limit.
            user.planID = "pro"
            try await limits.check(.domains, for: user, on: app.coordinator.store.db)
            // Monitors are limited on Pro too, but no counter is registered: usage 0 < 15.
            try await limits.check(.monitors, for: user, on: app.coordinator.store.db)
            await #expect(throws: APIError.self) { try await limits.check(.monitors, for: user, adding: 16, on: app.coordinator.store.db) }
        }
    }

    @Test("admins edit plans and users; others may not")
    func adminEdits() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (user, userID) = try await client.signUp(app, email: "customer@example.com")

            let forbidden = try await client.json(.patch, "/api/v1/admin/plans/free", ["limits": ["domains": 1]], token: user)
            #expect(forbidden.status == .forbidden)
            #expect(try await client.json(.get, "/api/v1/admin/users", token: user).status == .forbidden)

            let edited = try await client.json(
                .patch, "/api/v1/admin/plans/free", ["limits": ["domains": 5, "monitors": NSNull()], "monthly_price": 1.5], token: admin)
            #expect(edited.status == .ok, "\(edited.text)")
            let plan = try edited.decode(PlanResponse.self)
            #expect(plan.id == "free")
            #expect(plan.limits["domains"] == .some(5))
            #expect(plan.limits["monitors"] == .some(nil))
            #expect(plan.monthlyPrice == Credits(micro: 1_500_000))
            let unknown = try await client.json(.patch, "/api/v1/admin/plans/free", ["limits": ["rockets": 1]], token: admin)
            #expect(unknown.error?.field == "limits.rockets")
            let negative = try await client.json(.patch, "/api/v1/admin/plans/free", ["limits": ["domains": -1]], token: admin)
            #expect(negative.status == .unprocessableContent)

            let moved = try await client.json(
                .patch, "/api/v1/admin/users/\(userID)", ["plan_id": "business", "role": "reseller"], token: admin
            ).decode(UserResponse.self)
            #expect(moved.id.uuidString == userID)
            #expect(moved.plan == "business")
            #expect(moved.role == "reseller")
            let mine = try await client.json(.get, "/api/v1/account/limits", token: user).decode(PlansController.LimitsResponse.self)
            #expect(mine.plan.id == "business")
            let badPlan = try await client.json(.patch, "/api/v1/admin/users/\(userID)", ["plan_id": "platinum"], token: admin)
            #expect(badPlan.error?.field == "plan_id")
            let list = try await client.json(.get, "/api/v1/admin/users?limit=1", token: admin).decode(AdminController.UserList.self)
            #expect(list.total == 2)
            #expect(list.users.count == 1)
            #expect(try await client.json(.get, "/api/v1/admin/users?limit=501", token: admin).status == .unprocessableContent)
        }
    }
}

@Suite("Persistence")
struct MigrationTests {
    @Test("migrations apply, revert completely and apply again")
    func roundTrip() async throws {
        try await TestApp.run { app, _ in
            let store = app.coordinator.store
            #expect(try await store.pendingMigrations().isEmpty)
            #expect(try await Plan.query(on: store.db).count() == 5)
            try await store.revertAll()
            #expect(try await store.pendingMigrations().count == ProductAreas.all.flatMap { $0.migrations }.count)
            try await store.migrate()
            #expect(try await store.pendingMigrations().isEmpty)
            #expect(try await Plan.query(on: store.db).count() == 5)
            // Running again is a no-op.
            try await store.migrate()
        }
    }

    @Test("money is stored as whole micro-credits")
    func microCredits() async throws {
        try await TestApp.run { app, _ in
            let plan = try #require(try await Plan.find("business", on: app.coordinator.store.db))
            #expect(plan.monthlyPriceMicro == 59_000_000)
        }
    }
}

@Suite("Background jobs")
struct JobTests {
    @Test("expired sessions and old verification links are removed; live ones stay")
    func expiredCredentials() async throws {
        try await TestApp.run { app, client in
            _ = try await client.signUp(app, email: "sweep@example.com")
            let user = try #require(try await User.query(on: app.coordinator.store.db).filter(\.$email == "sweep@example.com").first())
            let live = try await app.coordinator.accounts.createSession(for: user, ip: nil, userAgent: nil)
            try await Session(userID: user.id!, tokenHash: "expired", expiresAt: Date().addingTimeInterval(-60), ip: nil, userAgent: nil)
                .create(on: app.coordinator.store.db)
            try await EmailVerification(userID: user.id!, tokenHash: "old", expiresAt: Date().addingTimeInterval(-8 * 86_400))
                .create(on: app.coordinator.store.db)
            let job = ExpiredCredentialsJob(store: app.coordinator.store)
            #expect(try await job.runOnce() == 2)
            #expect(try await app.coordinator.accounts.authenticate(sessionToken: live) != nil)
            #expect(try await EmailVerification.query(on: app.coordinator.store.db).count() == 1, "the recent link stays")
        }
    }
}

@Suite("Master secret")
struct MasterSecretTests {
    func settings(_ directory: String) throws -> DCDNSettings {
        try DCDNSettings.make(role: .coordinator, ["data_dir": directory])
    }

    @Test("generated once into the data directory, the same on every later start")
    func generatedOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcdn-secret-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Coordinator.masterSecret(settings: try settings(directory), logger: .init(label: "test"))
        #expect(first.utf8.count >= 32)
        #expect(try Coordinator.masterSecret(settings: try settings(directory), logger: .init(label: "test")) == first)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/secret.key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["secret.key"], "no temporary file left")
    }

    @Test("a secret that cannot be saved, or a damaged one, stops the start instead of making another")
    func fatal() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcdn-secret-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The data directory is a file: nothing can be written there.
        FileManager.default.createFile(atPath: directory, contents: Data("not a directory".utf8))
        #expect(throws: SettingsError.self) {
            try Coordinator.masterSecret(settings: try settings(directory), logger: .init(label: "test"))
        }
        try FileManager.default.removeItem(atPath: directory)
        // A damaged secret file is kept as it is, for the operator to restore.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/secret.key", contents: Data("short".utf8))
        #expect(throws: SettingsError.self) {
            try Coordinator.masterSecret(settings: try settings(directory), logger: .init(label: "test"))
        }
        #expect(FileManager.default.contents(atPath: directory + "/secret.key") == Data("short".utf8))
    }
}

@Suite("Per-domain caps are plan data")
struct PerDomainLimitTests {
    @Test("page rules, rate limits and firewall rules per domain: admin-editable, shown as usage, refused as plan_limit_reached")
    func perDomain() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (jwt, _) = try await client.signUp(app, email: "caps@example.com")
            let limits = try #require(
                try await client.json(.get, "/api/v1/plans", token: jwt).decode(PlansController.PlanList.self).plans.first {
                    $0.id == "free"
                }
            ).limits
            #expect(limits["page_rules_per_domain"] == .some(50) && limits["rate_limits_per_domain"] == .some(25))
            #expect(limits["firewall_rules_per_domain"] == .some(50))
            let edited = try await client.json(
                .patch, "/api/v1/admin/plans/free",
                ["limits": ["page_rules_per_domain": 1, "rate_limits_per_domain": 1, "firewall_rules_per_domain": 1]], token: admin)
            #expect(edited.status == .ok, "\(edited.text)")
            let id = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "caps.example", "origin_ip": "203.0.113.5"], token: jwt
            ).decode(DomainsController.DomainResponse.self).id
            let base = "/api/v1/cdn/domains/\(id)"
            for (path, body, limit) in [
                ("/page-rules", ["pattern": "caps.example/a/*", "cache_level": "bypass"], "page_rules_per_domain"),
                ("/security/rate-limits", ["path": "/api/*", "requests": 10, "period": 60], "rate_limits_per_domain"),
                (
                    "/security/firewall-rules", ["field": "path", "operator": "equals", "value": "/x", "action": "block"],
                    "firewall_rules_per_domain"
                ),
            ] as [(String, [String: Any], String)] {
                let first = try await client.json(.post, base + path, body, token: jwt)
                #expect(first.status == .created, "\(path): \(first.text)")
                let second = try await client.json(.post, base + path, body, token: jwt)
                #expect(
                    second.status == .forbidden && second.error?.code == "plan_limit_reached" && second.error?.field == limit,
                    "\(second.text)")
            }
            let usage = try await client.json(.get, "/api/v1/account/limits", token: jwt).decode(PlansController.LimitsResponse.self).usage
            for limit in ["page_rules_per_domain", "rate_limits_per_domain", "firewall_rules_per_domain"] {
                let row = usage.first { $0.limit == limit }
                #expect(row?.used == 1 && row?.maximum == 1, "\(limit): \(String(describing: row))")
            }
        }
    }

    @Test("an installation from before gets the caps it enforced, and an admin's own figures are kept")
    func seeded() async throws {
        try await TestApp.run { app, _ in
            let db = app.coordinator.store.db
            let pro = try #require(try await Plan.find("pro", on: db))
            for key in ["page_rules_per_domain", "rate_limits_per_domain", "firewall_rules_per_domain"] {
                pro.limits.removeValue(forKey: key)
            }
            pro.limits["page_rules_per_domain"] = 7
            try await pro.save(on: db)
            try await PlanMigrations.SeedPerDomainLimits().prepare(on: db)
            let seeded = try #require(try await Plan.find("pro", on: db))
            #expect(seeded.limits["page_rules_per_domain"] == 7)
            #expect(seeded.limits["rate_limits_per_domain"] == 25 && seeded.limits["firewall_rules_per_domain"] == 50)
        }
    }
}

@Suite("References to nothing")
struct DanglingReferenceTests {
    @Test("money calls naming no user answer 404, never a database error")
    func noSuchUser() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let nobody = UUID().uuidString
            for (path, body) in [
                ("/api/v1/credits/refund", ["user_id": nobody, "transaction_id": UUID().uuidString]),
                ("/api/v1/credits/revoke", ["user_id": nobody, "amount": 1]),
                ("/api/v1/credits/grant", ["user_id": nobody, "amount": 1]),
            ] as [(String, [String: Any])] {
                let answer = try await client.json(.post, path, body, token: admin)
                #expect(answer.status.code < 500 && [404, 422].contains(answer.status.code), "\(path): \(answer.text)")
            }
            #expect(try await client.json(.get, "/api/v1/credits/admin/user/\(nobody)", token: admin).status == .notFound)
        }
    }
}
