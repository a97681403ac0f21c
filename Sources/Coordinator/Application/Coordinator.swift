import DCDNCore
import FluentKit
import Foundation
import Hummingbird
import ImageKit
import Logging
import Prometheus
import SQLKit
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// The coordinator's long-lived parts, built once and shared by every controller.
public final class Coordinator: Sendable {
    public let settings: DCDNSettings
    public let store: DatabaseStore
    public let accounts: AccountService
    public let planLimits: PlanLimits
    public let feed: ConfigFeed
    public let nodes: NodeService
    public let domains: DomainService
    public let cdn: CDNService
    public let certificates: CertificateService
    public let security: SecurityService
    public let ledger: CreditLedger
    public let promos: PromoService
    public let resellers: ResellerService
    public let affiliates: AffiliateService
    public let billing: BillingService
    let idempotency: IdempotentCalls
    /// Which replica runs each due item of the background jobs.
    let jobClaims: JobClaims
    /// `dcdn dev`'s certificate authority (ACME at /dev-acme), when no CA is configured.
    let devCA: DevCertificateAuthority?
    public let secrets: Secrets
    public let oidc: OIDCLogin?
    public let metrics: PrometheusCollectorRegistry
    /// The product areas (`ProductAreas.all`), built once the services above exist.
    let areas = ProductAreaList()
    public let rateLimits: RateLimits
    public let dashboard: DashboardRenderer
    /// The public `/cdn-cgi/image` endpoint's pipeline.
    public let images: ImagePipeline
    /// The URL people and links use to reach the coordinator (no trailing slash).
    public let publicURL: String
    let logger: Logger

    public struct RateLimits: Sendable {
        public let login: RateLimiter
        public let register: RateLimiter
        public let api: RateLimiter
        public let promoRedeem: RateLimiter
    }

    /// - Parameters:
    ///   - publicURL: the configured public URL, or the one derived from the bound address.
    ///   - mailer: replaces the mailer the settings choose (tests).
    ///   - paymentProvider: replaces Stripe (tests).
    ///   - clock: times the nodes' long polls (tests advance one by hand).
    public init(
        settings: DCDNSettings, publicURL: String, mailer: (any OutboundMailer)? = nil, paymentProvider: (any PaymentProvider)? = nil,
        clock: some Clock<Duration> & Sendable = ContinuousClock(), logger: Logger
    ) async throws {
        self.settings = settings
        self.publicURL = publicURL
        self.logger = logger
        let store = try DatabaseStore(settings: settings, logger: logger)
        self.store = store
        let secrets = Secrets(master: try Self.masterSecret(settings: settings, logger: logger))
        self.secrets = secrets
        let chosenMailer: any OutboundMailer =
            if let mailer { mailer } else if settings.isDev { OutboxMailer(database: store) } else if let host = settings.mail.relayHost {
                SMTPMailer(settings: settings.mail, relayHost: host)
            } else { UnconfiguredMailer(logger: logger) }
        accounts = AccountService(
            store: store, mailer: chosenMailer, signer: await AccessTokenSigner(secrets: secrets), settings: settings,
            publicURL: publicURL, logger: logger)
        var planLimits = PlanLimits(store: store)
        for area in ProductAreas.all {
            for (limit, counter) in area.limitCounters { planLimits.register(limit, counter: counter) }
        }
        self.planLimits = planLimits
        feed = ConfigFeed(store: store, settings: settings, areas: areas, clock: PollClock(clock))
        nodes = NodeService(store: store, feed: feed)
        domains = DomainService(store: store, feed: feed, planLimits: planLimits, originPolicy: settings.originPolicy)
        cdn = CDNService(store: store, feed: feed, domains: domains, planLimits: planLimits)
        security = SecurityService(store: store, feed: feed, domains: domains, planLimits: planLimits)
        ledger = CreditLedger(store: store, graceHours: settings.billing.graceHours)
        promos = PromoService(store: store, ledger: ledger)
        resellers = ResellerService(store: store, promos: promos)
        affiliates = AffiliateService(store: store, ledger: ledger, publicURL: publicURL)
        billing = BillingService(
            store: store, settings: settings.billing, ledger: ledger, affiliates: affiliates, resellers: resellers,
            provider: paymentProvider ?? StripeClient(base: settings.billing.stripeAPIBase, secretKey: settings.billing.stripeSecretKey),
            publicURL: publicURL, logger: logger)
        idempotency = IdempotentCalls(store: store)
        jobClaims = JobClaims(database: store.db.sql, lease: .seconds(settings.jobLeaseSeconds), logger: logger)
        devCA =
            settings.isDev && settings.acmeDirectoryURL.isEmpty
            ? try DevCertificateAuthority(
                dataDirectory: settings.dataDirectory, publicURL: publicURL, edgeHTTP: ("127.0.0.1", settings.edge?.httpPort ?? 0),
                dnsServer: ("127.0.0.1", settings.dns?.port ?? 0), logger: logger) : nil
        certificates = try CertificateService(
            store: store, feed: feed, domains: domains, secrets: secrets, settings: settings,
            directoryURL: devCA?.directoryURL ?? settings.acmeDirectoryURL, logger: logger)
        oidc = settings.oidc.map { OIDCLogin(settings: $0, publicURL: publicURL, secrets: secrets) }
        metrics = PrometheusCollectorRegistry()
        // On PostgreSQL the counts are shared by every replica; SQLite means one process.
        let shared = store.engine == .postgres ? (store.db as? any SQLDatabase).map(SharedRateLimitCounts.init) : nil
        rateLimits = RateLimits(
            login: RateLimiter(
                name: "login", capacity: settings.loginRateLimit.count, per: Double(settings.loginRateLimit.seconds), shared: shared),
            register: RateLimiter(
                name: "register", capacity: settings.registerRateLimit.count, per: Double(settings.registerRateLimit.seconds),
                shared: shared),
            api: RateLimiter(name: "api", burst: settings.apiBurst, refillPerSecond: settings.apiRatePerSecond, shared: shared),
            promoRedeem: RateLimiter(
                name: "promo", capacity: settings.billing.promoRedeemLimit.count, per: Double(settings.billing.promoRedeemLimit.seconds),
                shared: shared))
        dashboard = try DashboardRenderer(
            isDev: settings.isDev, oidcLabel: settings.oidc?.buttonLabel,
            navigation: [DashboardController.overviewEntry] + ProductAreas.all.flatMap { $0.navigation },
            notices: ProductAreas.all.reduce(into: [:]) { notices, area in notices.merge(area.notices) { $1 } })
        images = ImagePipeline(fetcher: SourceFetcher(policy: .init(privateSources: settings.imagePrivateSources)))
        areas.install(ProductAreas.all.map { $0.make(self) })
    }

    /// Every area's background jobs. Every replica runs them; `jobClaims` gives each due item to one.
    public func jobs() -> [any Service] {
        areas.all.flatMap { $0.jobs(claims: jobClaims, logger: logger) }
    }

    /// The configured secret, else one generated once into the data directory. Replicas behind
    /// one load balancer must share it: set DCDN_SECRET_KEY for them.
    static func masterSecret(settings: DCDNSettings, logger: Logger) throws -> String {
        if let secret = settings.secretKey {
            guard secret.utf8.count >= 32 else {
                throw SettingsError(key: "secret_key", message: "must be at least 32 characters (try: openssl rand -hex 32)")
            }
            return secret
        }
        let path = settings.dataDirectory + "/secret.key"
        // A secret that exists but cannot be read is an error, never a reason to make another:
        // keys sealed with the old one (certificates, OIDC) would no longer open.
        if FileManager.default.fileExists(atPath: path) { return try readSecret(path) }
        do {
            try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw SettingsError(
                key: "data_dir", message: "cannot create \(settings.dataDirectory) for the master secret: \(error.localizedDescription)")
        }
        let secret = Secrets.randomToken()
        // Written whole to a temporary file, then linked into place: link fails if another process
        // made the secret first, and then that one is used.
        let temporary = path + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw SettingsError(
                key: "data_dir", message: "cannot write the master secret to \(temporary): \(String(cString: strerror(errno)))")
        }
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return try readSecret(path) }
            throw SettingsError(key: "data_dir", message: "cannot save the master secret as \(path): \(String(cString: strerror(errno)))")
        }
        if !settings.isDev {
            logger.warning("generated a master secret in \(path); set DCDN_SECRET_KEY to share it between replicas")
        }
        return secret
    }

    private static func readSecret(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError(key: "data_dir", message: "cannot read the master secret \(path): \(String(cString: strerror(errno)))")
        }
        let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard secret.utf8.count >= 32 else {
            throw SettingsError(
                key: "data_dir",
                message: "\(path) holds no master secret (under 32 characters); restore it from a backup or set DCDN_SECRET_KEY")
        }
        return secret
    }
}
