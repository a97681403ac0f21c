import Configuration
import Foundation
import Logging
import SystemPackage

/// Everything an operator can configure, read in one place with the precedence
/// flags > `DCDN_*` environment variables > JSON config file > defaults.
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
    public var httpPort: Int
    public var httpsPort: Int
    public var dnsPort: Int
    public var smtpPort: Int
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
    /// For roles: where the coordinator is, and this node's token.
    public var coordinatorURL: String?
    public var nodeToken: String?
    /// For `dcdn dns`: TSIG key for zone transfers ("name:base64secret") and secondaries to NOTIFY.
    public var dnsTransferKey: String?
    public var dnsNotify: [String]
    public var nodeName: String?
    public var nodeRegion: String?
    public var nodeCountry: String?
    public var nodeIPv4: String?
    public var nodeIPv6: String?
    /// Whether domains may point at private addresses (always in dev; a lab setting otherwise).
    public var allowPrivateOrigins: Bool
    /// Edge cache: memory tier and disk tier sizes in MiB (the disk tier lives in data_dir/cache).
    public var cacheMemoryMB: Int
    public var cacheDiskMB: Int
    /// Seconds the edge waits for an origin's response before answering 504.
    public var originTimeout: Int
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
    /// Extra PEM roots the edge trusts for origin certificates in strict mode.
    public var originCABundle: String?
    /// Countries every edge answers 451 (the product guide's 23 by default).
    public var sanctionedCountries: [String]
    /// The product guide's list of sanctioned countries (§14).
    public static let defaultSanctionedCountries = [
        "CU", "IR", "KP", "SY", "RU", "BY", "MM", "VE", "SD", "SO", "YE", "AF", "CF", "CD", "LY", "LB", "IQ", "ZW", "ML", "NI", "HT",
        "SS", "ER",
    ]

    /// Leading zero bits of SHA-256 a visitor's browser finds for a challenge.
    public var challengeDifficulty: Int
    /// The edge's connection-level and flood defences.
    public var edgeProtection: EdgeProtectionSettings
    /// Credits, payments, affiliates.
    public var billing: BillingSettings

    public var isDev: Bool { role == .dev }
    /// The SQLite file used when no database URL is configured.
    public var sqlitePath: String { dataDirectory + "/dcdn.sqlite" }

    /// Reads settings. `flags` holds the values given on the command line, by key.
    public static func load(
        role: Role, flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> DCDNSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(
                    uniqueKeysWithValues: flags.map { (AbsoluteConfigKey([$0.key]), ConfigValue(.string($0.value), isSecret: false)) })),
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "dcdn"),
        ]
        // The database URL may also come from the conventional DATABASE_URL.
        providers.append(
            EnvironmentVariablesProvider(
                environmentVariables: environment.filter { $0.key == "DATABASE_URL" }))
        if let path = flags["config"] ?? environment["DCDN_CONFIG"] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw SettingsError(key: "config", message: "config file \(path) does not exist")
            }
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw SettingsError(key: "config", message: "config file \(path) is not valid JSON: \(error)")
            }
        }
        return try DCDNSettings(role: role, reader: ConfigReader(providers: providers))
    }

    init(role: Role, reader config: ConfigReader) throws {
        self.role = role
        let dev = role == .dev
        func string(_ key: String, secret: Bool = false) -> String? {
            // Values come as strings from flags and the environment, but as numbers or booleans
            // from a JSON file: accept either.
            if let value = config.string(forKey: ConfigKey(key), isSecret: secret), !value.isEmpty { return value }
            if let value = config.int(forKey: ConfigKey(key)) { return String(value) }
            if let value = config.bool(forKey: ConfigKey(key)) { return String(value) }
            if let value = config.double(forKey: ConfigKey(key)) { return String(value) }
            return nil
        }
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = string(key) else { return fallback }
            guard let value = Int(text), range.contains(value) else {
                throw SettingsError(key: key, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        func list(_ key: String) -> [String] {
            (string(key) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        dataDirectory = string("data_dir") ?? (dev ? "./.dcdn" : "/var/lib/dcdn")
        databaseURL = string("database_url", secret: true)
        host = string("host") ?? (dev ? "127.0.0.1" : "0.0.0.0")
        apiPort = try int("api_port", 8080, 0...65535)
        httpPort = try int("http_port", dev ? 8081 : 80, 0...65535)
        httpsPort = try int("https_port", dev ? 8443 : 443, 0...65535)
        dnsPort = try int("dns_port", dev ? 5353 : 53, 0...65535)
        smtpPort = try int("smtp_port", dev ? 2525 : 25, 0...65535)
        publicURL = try string("public_url").map { url in
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme), parsed.host != nil else {
                throw SettingsError(key: "public_url", message: "must be an http(s) URL such as https://cdn.example.com")
            }
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        secretKey = string("secret_key", secret: true)
        guard let format = LogFormat(rawValue: string("log_format") ?? "text") else {
            throw SettingsError(key: "log_format", message: "must be text or json")
        }
        logFormat = format
        guard let level = Logger.Level(rawValue: string("log_level") ?? "info") else {
            throw SettingsError(key: "log_level", message: "must be trace, debug, info, notice, warning, error or critical")
        }
        logLevel = level
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
        coordinatorURL = string("coordinator_url")
        nodeToken = string("node_token", secret: true)
        dnsTransferKey = string("dns_transfer_key", secret: true)
        dnsNotify = list("dns_notify")
        nodeName = string("node_name")
        nodeRegion = string("node_region")
        nodeCountry = string("node_country")
        nodeIPv4 = string("node_ipv4")
        nodeIPv6 = string("node_ipv6")
        allowPrivateOrigins = (string("allow_private_origins").map { $0 == "true" || $0 == "1" }) ?? dev
        cacheMemoryMB = try int("cache_memory_mb", 256, 1...1_048_576)
        cacheDiskMB = try int("cache_disk_mb", 10_240, 0...100_000_000)
        originTimeout = try int("origin_timeout", 100, 1...3600)
        var pins: [String: String] = [:]
        for item in list("image_private_sources") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw SettingsError(
                    key: "image_private_sources", message: "items are host=address[:port], e.g. images.internal=10.0.0.5:8080")
            }
            pins[parts[0].lowercased()] = parts[1]
        }
        imagePrivateSources = pins
        // dev has no public names to validate: issuance is off there unless a CA is configured.
        acmeDirectoryURL = string("acme_directory_url") ?? (dev ? "" : "https://acme-v02.api.letsencrypt.org/directory")
        acmeCABundle = string("acme_ca_bundle")
        acmeEmail = string("acme_email")
        acmeChallengeDelay = try int("acme_challenge_delay", 2, 0...300)
        originCABundle = string("origin_ca_bundle")
        sanctionedCountries = string("sanctioned_countries") == "none" ? [] : list("sanctioned_countries").map { $0.uppercased() }
        if string("sanctioned_countries") == nil { sanctionedCountries = Self.defaultSanctionedCountries }
        for code in sanctionedCountries where code.count != 2 || !code.allSatisfy({ $0.isASCII && $0.isLetter }) {
            throw SettingsError(
                key: "sanctioned_countries", message: "\(code) is not a two-letter country code (\"none\" for an empty list)")
        }
        challengeDifficulty = try int("challenge_difficulty", 16, 1...28)
        edgeProtection = EdgeProtectionSettings(
            maxConnectionsPerIP: try int("edge_max_connections_per_ip", 256, 1...1_000_000),
            headerTimeout: try int("edge_header_timeout", 10, 1...600),
            minBodyRate: try int("edge_min_body_rate", 512, 0...100_000_000),
            maxHeaderBytes: try int("edge_max_header_bytes", 32_768, 1024...1_048_576),
            maxHeaderCount: try int("edge_max_header_count", 100, 10...10_000),
            maxConcurrentRequests: try int("edge_max_concurrent_requests", 10_000, 1...1_000_000),
            floodClientRPS: try int("edge_flood_client_rps", 100, 1...100_000_000),
            floodDomainRPS: try int("edge_flood_domain_rps", 2_000, 1...100_000_000),
            testCountryHeader: string("edge_test_country_header"),
            enabled: string("edge_security").map { $0 != "off" && $0 != "false" } ?? true)
        let stripeBase = string("stripe_api_base") ?? "https://api.stripe.com"
        guard let base = URL(string: stripeBase), base.scheme == "https" || base.scheme == "http", base.host != nil else {
            throw SettingsError(key: "stripe_api_base", message: "must be an http(s) URL")
        }
        billing = BillingSettings(
            creditsPurchasable: string("credits_purchasable").map { $0 == "true" || $0 == "1" || $0 == "on" } ?? false,
            graceHours: try int("credit_grace_hours", 72, 0...8760),
            stripeAPIBase: stripeBase.hasSuffix("/") ? String(stripeBase.dropLast()) : stripeBase,
            stripeSecretKey: string("stripe_secret_key", secret: true),
            stripeWebhookSecret: string("stripe_webhook_secret", secret: true),
            tokenWebhookSecret: string("token_webhook_secret", secret: true),
            promoRedeemLimit: try RateLimitSetting(parsing: string("rate_limit_promo_redeem") ?? "5/60", key: "rate_limit_promo_redeem"))
    }

    /// Settings for tests and embedding: defaults of a role with overrides by key.
    public static func make(role: Role, _ values: [String: String] = [:]) throws -> DCDNSettings {
        try DCDNSettings(
            role: role,
            reader: ConfigReader(
                provider: InMemoryProvider(
                    values: Dictionary(
                        uniqueKeysWithValues: values.map { (AbsoluteConfigKey([$0.key]), ConfigValue(.string($0.value), isSecret: false)) })
                )))
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

/// "N/S": at most N events per S seconds, refilled evenly (a token bucket of N).
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
