import Configuration
import Foundation
import Logging
import SystemPackage

/// The coordinator's settings (`dcdn coordinator`, `dcdn dev`, the admin tools), read with the
/// precedence flags > `DCDN_*` environment variables > JSON config file > defaults. Nodes read
/// only their own sections (`EdgeSettings`, `NameServerSettings`, `NodeSettings`).
/// `docs/configuration.md` documents each key; its `key` is the JSON key, `DCDN_<KEY>` the
/// environment variable and `--<key-with-dashes>` the flag.
public struct DCDNSettings: Sendable {
    /// Which command is running: defaults differ (dev binds loopback and keeps mail in an outbox).
    public enum Role: String, Sendable { case coordinator, dev, tool }

    public var role: Role
    public var dataDirectory: String
    public var databaseURL: String?
    public var host: String
    public var apiPort: Int
    public var publicURL: String?
    public var secretKey: String?
    public var logFormat: LogFormat
    public var logLevel: Logger.Level
    public var corsOrigins: [String]
    public var trustedProxies: [CIDR]
    public var loginRateLimit: RateLimitSetting
    public var registerRateLimit: RateLimitSetting
    public var apiBurst: Int
    public var apiRatePerSecond: Double
    public var bcryptCost: Int
    public var sessionLifetimeSeconds: Int
    public var mail: MailSettings
    public var oidc: OIDCSettings?
    public var adminEmail: String?
    public var adminPassword: String?
    /// The platform's nameserver host names (NS at every customer apex).
    public var nameservers: [String]
    /// SOA RNAME: the DNS operator's mailbox in DNS form.
    public var hostmaster: String
    /// Resolver used to observe customers' delegation ("host:port"); nil = /etc/resolv.conf.
    public var delegationResolver: String?
    public var delegationCheckSeconds: Int
    /// How long a replica's claim on a background job's item holds without renewal (`JobClaims`):
    /// the longest another replica waits to finish the work of one that died.
    public var jobLeaseSeconds: Int
    /// Which addresses domains and proxied records may point at (`private_origins`; dev allows
    /// loopback). The edge enforces the same policy when it connects.
    public var originPolicy: OriginAddressPolicy
    /// Image sources allowed to be private, by host name, each pinned to `address[:port]`
    /// (`image_private_sources`: "name=address:port" items). Empty by default; dev pins its demo site.
    public var imagePrivateSources: [String: String]
    /// The ACME CA's directory (Let's Encrypt production by default; empty turns issuance off).
    public var acmeDirectoryURL: String
    /// Extra PEM roots to trust when talking to the CA (a private CA, pebble in tests).
    public var acmeCABundle: String?
    /// Contact address for the ACME account (expiry mail from the CA).
    public var acmeEmail: String?
    /// Seconds to wait after publishing a challenge before asking the CA to check it (nodes sync
    /// within about a second).
    public var acmeChallengeDelay: Int
    /// Countries every edge answers 451 (the product guide's 23 by default).
    public var sanctionedCountries: [String]
    /// The product guide's list of sanctioned countries (§14).
    public static let defaultSanctionedCountries = [
        "CU", "IR", "KP", "SY", "RU", "BY", "MM", "VE", "SD", "SO", "YE", "AF", "CF", "CD", "LY", "LB", "IQ", "ZW", "ML", "NI", "HT",
        "SS", "ER",
    ]

    /// Leading zero bits of SHA-256 a visitor's browser finds for a challenge.
    public var challengeDifficulty: Int
    /// The edge and the nameserver `dcdn dev` runs beside the coordinator (nil for
    /// `dcdn coordinator`, which reads no role's section).
    public var edge: EdgeSettings?
    public var dns: NameServerSettings?
    /// Credits, payments, affiliates.
    public var billing: BillingSettings

    public var isDev: Bool { role == .dev }
    /// The SQLite file used when no database URL is configured.
    public var sqlitePath: String { dataDirectory + "/dcdn.sqlite" }

    /// Reads settings. `flags` holds the values given on the command line, by key.
    public static func load(
        role: Role, flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> DCDNSettings {
        try DCDNSettings(role: role, reader: try await SettingsReader.load(flags: flags, environment: environment))
    }

    init(role: Role, reader settings: SettingsReader) throws {
        self.role = role
        let dev = role == .dev
        func string(_ key: String, secret: Bool = false) -> String? { settings.string(key, secret: secret) }
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int { try settings.int(key, fallback, range) }
        func list(_ key: String) -> [String] { settings.list(key) }

        let process = try ProcessSettings(settings, dev: dev)
        dataDirectory = process.dataDirectory
        host = process.host
        logFormat = process.logFormat
        logLevel = process.logLevel
        edge = dev ? try EdgeSettings(settings, dev: true) : nil
        dns = dev ? try NameServerSettings(settings, dev: true) : nil
        databaseURL = string("database_url", secret: true)
        apiPort = try int("api_port", 8080, 0...65535)
        publicURL = try string("public_url").map { url in
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme), parsed.host != nil else {
                throw SettingsError(key: "public_url", message: "must be an http(s) URL such as https://cdn.example.com")
            }
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        secretKey = string("secret_key", secret: true)
        corsOrigins = list("cors_origins")
        trustedProxies = try list("trusted_proxies").map { text in
            guard let cidr = CIDR(text) else {
                throw SettingsError(key: "trusted_proxies", message: "\(text) is not an IP address or CIDR")
            }
            return cidr
        }
        loginRateLimit = try RateLimitSetting(parsing: string("rate_limit_login") ?? "3/600", key: "rate_limit_login")
        registerRateLimit = try RateLimitSetting(parsing: string("rate_limit_register") ?? "3/600", key: "rate_limit_register")
        apiBurst = try int("rate_limit_api_burst", 20, 1...100_000)
        guard let rate = Double(string("rate_limit_api_rate") ?? "10"), rate > 0 else {
            throw SettingsError(key: "rate_limit_api_rate", message: "must be a positive number of requests per second")
        }
        apiRatePerSecond = rate
        bcryptCost = try int("bcrypt_cost", 12, 4...16)
        sessionLifetimeSeconds = try int("session_lifetime", 7 * 86_400, 300...(90 * 86_400))
        mail = try MailSettings(
            relayHost: string("smtp_relay_host"),
            relayPort: try int("smtp_relay_port", 587, 1...65535),
            username: string("smtp_relay_username"),
            password: string("smtp_relay_password", secret: true),
            tls: {
                guard let mode = MailSettings.TLSMode(rawValue: string("smtp_relay_tls") ?? "starttls") else {
                    throw SettingsError(key: "smtp_relay_tls", message: "must be starttls, opportunistic or off")
                }
                return mode
            }(),
            from: string("mail_from") ?? "DCDN <no-reply@dcdn.localhost>",
            caFile: string("smtp_relay_ca_file"))
        if let clientID = string("oidc_client_id") {
            guard let secret = string("oidc_client_secret", secret: true) else {
                throw SettingsError(key: "oidc_client_secret", message: "is required when oidc_client_id is set")
            }
            let issuer = string("oidc_issuer") ?? "https://accounts.google.com"
            guard let url = URL(string: issuer), url.scheme == "https" || url.scheme == "http" else {
                throw SettingsError(key: "oidc_issuer", message: "must be an http(s) URL")
            }
            oidc = OIDCSettings(
                issuer: issuer, clientID: clientID, clientSecret: secret,
                buttonLabel: string("oidc_button_label") ?? "Sign in with Google")
        } else {
            oidc = nil
        }
        adminEmail = string("admin_email")
        adminPassword = string("admin_password", secret: true)
        nameservers = list("nameservers").map { $0.lowercased() }
        if nameservers.isEmpty { nameservers = dev ? ["ns1.dcdn.test", "ns2.dcdn.test"] : ["ns1.dcdn.invalid", "ns2.dcdn.invalid"] }
        for server in nameservers where DNSRecordContent.hostname(server) == nil {
            throw SettingsError(key: "nameservers", message: "\(server) is not a host name")
        }
        hostmaster = string("hostmaster") ?? "hostmaster.\(nameservers[0].split(separator: ".").dropFirst().joined(separator: "."))"
        delegationResolver = string("delegation_resolver")
        delegationCheckSeconds = try int("delegation_check_interval", dev ? 10 : 300, 1...86_400)
        jobLeaseSeconds = try int("job_lease", 60, 3...3600)
        originPolicy = try EdgeSettings.originPolicy(settings, dev: dev)
        imagePrivateSources = try EdgeSettings.pins(settings)
        // dev has no public names to validate: issuance is off there unless a CA is configured.
        acmeDirectoryURL =
            settings.isEmpty("acme_directory_url")
            ? "" : string("acme_directory_url") ?? (dev ? "" : "https://acme-v02.api.letsencrypt.org/directory")
        acmeCABundle = string("acme_ca_bundle")
        acmeEmail = string("acme_email")
        acmeChallengeDelay = try int("acme_challenge_delay", 2, 0...300)
        sanctionedCountries = string("sanctioned_countries") == "none" ? [] : list("sanctioned_countries").map { $0.uppercased() }
        if string("sanctioned_countries") == nil { sanctionedCountries = Self.defaultSanctionedCountries }
        for code in sanctionedCountries where code.count != 2 || !code.allSatisfy({ $0.isASCII && $0.isLetter }) {
            throw SettingsError(
                key: "sanctioned_countries", message: "\(code) is not a two-letter country code (\"none\" for an empty list)")
        }
        challengeDifficulty = try int("challenge_difficulty", 16, 1...28)
        let stripeBase = string("stripe_api_base") ?? "https://api.stripe.com"
        guard let base = URL(string: stripeBase), base.scheme == "https" || base.scheme == "http", base.host != nil else {
            throw SettingsError(key: "stripe_api_base", message: "must be an http(s) URL")
        }
        billing = BillingSettings(
            creditsPurchasable: settings.flag("credits_purchasable") ?? false,
            graceHours: try int("credit_grace_hours", 72, 0...8760),
            stripeAPIBase: stripeBase.hasSuffix("/") ? String(stripeBase.dropLast()) : stripeBase,
            stripeSecretKey: string("stripe_secret_key", secret: true),
            stripeWebhookSecret: string("stripe_webhook_secret", secret: true),
            tokenWebhookSecret: string("token_webhook_secret", secret: true),
            promoRedeemLimit: try RateLimitSetting(parsing: string("rate_limit_promo_redeem") ?? "5/60", key: "rate_limit_promo_redeem"))
    }

    /// Settings for tests and embedding: defaults of a role with overrides by key.
    public static func make(role: Role, _ values: [String: String] = [:]) throws -> DCDNSettings {
        try DCDNSettings(role: role, reader: .values(values))
    }
}

/// The edge's defences below the firewall rules (docs/security.md).
public struct EdgeProtectionSettings: Sendable, Equatable {
    /// Off turns every firewall check and connection defence off (benchmarks, debugging).
    public var enabled: Bool
    /// Open connections one address may hold; more are closed at once.
    public var maxConnectionsPerIP: Int
    /// Seconds a client has to send a whole request head once it started one (Slowloris).
    public var headerTimeout: Int
    /// Bytes per second a request body must average after its first 5 seconds.
    public var minBodyRate: Int
    public var maxHeaderBytes: Int
    public var maxHeaderCount: Int
    /// Requests in progress on the node; beyond it new ones get 503 with Retry-After.
    public var maxConcurrentRequests: Int
    /// One address above this many requests per second to one domain is flooding it.
    public var floodClientRPS: Int
    /// A domain above this many requests per second, and ten times its usual rate, is under a flood.
    public var floodDomainRPS: Int
    /// Tests only: a request header whose value stands for the visitor's country. Never set in
    /// production — anyone could claim any country.
    public var testCountryHeader: String?

    public init(
        maxConnectionsPerIP: Int = 256, headerTimeout: Int = 10, minBodyRate: Int = 512, maxHeaderBytes: Int = 32_768,
        maxHeaderCount: Int = 100, maxConcurrentRequests: Int = 10_000, floodClientRPS: Int = 100, floodDomainRPS: Int = 2_000,
        testCountryHeader: String? = nil, enabled: Bool = true
    ) {
        self.enabled = enabled
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.headerTimeout = headerTimeout
        self.minBodyRate = minBodyRate
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxConcurrentRequests = maxConcurrentRequests
        self.floodClientRPS = floodClientRPS
        self.floodDomainRPS = floodDomainRPS
        self.testCountryHeader = testCountryHeader
    }
}

/// Credits, Stripe and token payments (docs/billing.md).
public struct BillingSettings: Sendable {
    /// Whether customers may buy credits by card (the billing guide) or only receive them from
    /// admins, resellers and promo codes (the technical guide). Off by default.
    public var creditsPurchasable: Bool
    /// How long services keep running after a balance reaches zero or a renewal goes unpaid.
    public var graceHours: Int
    /// Stripe's REST API (a test double's URL in tests).
    public var stripeAPIBase: String
    public var stripeSecretKey: String?
    /// `whsec_…`: signs the events Stripe posts to /api/v1/billing/stripe/webhook.
    public var stripeWebhookSecret: String?
    /// Signs the chain watcher's token-payment confirmations (same scheme as Stripe's).
    public var tokenWebhookSecret: String?
    /// Promo code redemption attempts per user.
    public var promoRedeemLimit: RateLimitSetting
}

/// "N/S": at most N events per S seconds, refilled evenly (a token bucket of N).
public struct RateLimitSetting: Sendable, Equatable {
    public var count: Int
    public var seconds: Int

    public init(count: Int, seconds: Int) {
        self.count = count
        self.seconds = seconds
    }

    public init(parsing text: String, key: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let count = Int(parts[0]), let seconds = Int(parts[1]), count > 0, seconds > 0 else {
            throw SettingsError(key: key, message: "must look like 3/600 (3 requests per 600 seconds)")
        }
        self.init(count: count, seconds: seconds)
    }
}

public struct MailSettings: Sendable {
    public enum TLSMode: String, Sendable { case starttls, opportunistic, off }
    /// Without a relay host, production mail cannot leave; dev keeps every mail in the outbox.
    public var relayHost: String?
    public var relayPort: Int
    public var username: String?
    public var password: String?
    public var tls: TLSMode
    public var from: String
    /// PEM certificates to trust for STARTTLS instead of the system's (a private relay's CA).
    public var caFile: String?
}

public struct OIDCSettings: Sendable {
    public var issuer: String
    public var clientID: String
    public var clientSecret: String
    public var buttonLabel: String
}

public struct SettingsError: Error, CustomStringConvertible {
    public var key: String
    public var message: String
    public var description: String { "configuration \(key): \(message)" }

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
}
