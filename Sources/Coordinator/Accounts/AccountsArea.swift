import DCDNCore
import FluentKit
import Foundation
import Logging
import ServiceLifecycle

/// Accounts: registration, email verification, sign-in (password and OpenID Connect), sessions
/// and API tokens. Its migrations are the platform's foundation (plans, users, the outbox).
struct AccountsArea: ProductArea {
    static var migrations: [any AsyncMigration] { FoundationMigrations.all }
    static var navigation: [NavigationItem] {
        [NavigationItem(key: "account", label: "Account & API tokens", href: "/dashboard/account", section: "Product", order: 50)]
    }
    static let notices: [String: String] = [
        "registered": "Account created. Check your inbox for the verification link, then sign in.",
        "registered_mail_failed": "Account created, but the verification mail could not be sent. Ask for a new link below.",
        "verify_sent": "If that address has an unverified account, a new link is on its way.",
        "signed_out": "You are signed out.",
        "password_changed": "Password changed. Other sessions were signed out.",
        "token_revoked": "API token revoked.",
        "oidc_failed": "Signing in with your identity provider did not work. Try again or use your password.",
    ]

    let accounts: AccountService
    let oidc: OIDCLogin?
    let renderer: DashboardRenderer
    let planLimits: PlanLimits
    let rateLimits: Coordinator.RateLimits
    let settings: DCDNSettings
    let sessions: SessionCookies
    let store: DatabaseStore
    let publicURL: String

    init(_ coordinator: Coordinator) {
        accounts = coordinator.accounts
        oidc = coordinator.oidc
        renderer = coordinator.dashboard
        planLimits = coordinator.planLimits
        rateLimits = coordinator.rateLimits
        settings = coordinator.settings
        store = coordinator.store
        publicURL = coordinator.publicURL
        sessions = SessionCookies(
            accounts: coordinator.accounts, publicURL: coordinator.publicURL, lifetimeSeconds: coordinator.settings.sessionLifetimeSeconds)
    }

    func addRoutes(to routes: AreaRoutes) {
        AuthController(accounts: accounts, rateLimits: rateLimits, settings: settings).addRoutes(to: routes.api)
        OIDCController(accounts: accounts, sessions: sessions, oidc: oidc, publicURL: publicURL).addRoutes(to: routes.api)
        AccountsDashboard(accounts: accounts, renderer: renderer, planLimits: planLimits, rateLimits: rateLimits, sessions: sessions)
            .addRoutes(to: routes.dashboard)
    }

    func jobs(claims: JobClaims, logger: Logger) -> [any Service] {
        [
            // One sweep an hour across replicas: the round is the item.
            PeriodicJob(name: "expired credentials", interval: .seconds(3600), claims: claims, logger: logger) { [store] round in
                await round.run("sweep:\(round.number)") { try await ExpiredCredentialsJob(store: store).runOnce() }
            }
        ]
    }
}
