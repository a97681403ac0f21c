import Foundation

/// A domain's firewall as edges enforce it (product guide §9): IP and country lists, rate limits,
/// custom rules in order, and the managed WAF's sensitivity.
public struct SecurityConfig: Codable, Sendable, Equatable {
    /// Addresses or CIDRs that skip every check but sanctions.
    public var ipAllow: [String]
    public var ipBlock: [String]
    /// When not empty, only these countries reach the site.
    public var countryAllow: [String]
    public var countryBlock: [String]
    /// `WAFSensitivity` raw value.
    public var wafSensitivity: String
    /// How long a passed challenge clears a visitor.
    public var clearanceMinutes: Int
    public var rateLimits: [RateLimitRuleConfig]
    public var firewallRules: [FirewallRuleConfig]

    public init(
        ipAllow: [String] = [], ipBlock: [String] = [], countryAllow: [String] = [], countryBlock: [String] = [],
        wafSensitivity: String = WAFSensitivity.medium.rawValue, clearanceMinutes: Int = 30, rateLimits: [RateLimitRuleConfig] = [],
        firewallRules: [FirewallRuleConfig] = []
    ) {
        self.ipAllow = ipAllow
        self.ipBlock = ipBlock
        self.countryAllow = countryAllow
        self.countryBlock = countryBlock
        self.wafSensitivity = wafSensitivity
        self.clearanceMinutes = clearanceMinutes
        self.rateLimits = rateLimits
        self.firewallRules = firewallRules
    }
}

/// How eagerly the managed WAF blocks, in the spirit of the OWASP Core Rule Set's paranoia levels:
/// each level adds rules that catch more and risk more false positives.
public enum WAFSensitivity: String, Codable, Sendable, CaseIterable {
    case off, low, medium, high

    /// The highest rule level that runs (0: none).
    public var paranoiaLevel: Int {
        switch self {
        case .off: 0
        case .low: 1
        case .medium: 2
        case .high: 3
        }
    }
}

/// "At most `requests` per `period` seconds per visitor address on paths matching `path`", then
/// `action` for `duration` seconds.
public struct RateLimitRuleConfig: Codable, Sendable, Equatable {
    public var id: UUID
    /// A path pattern with `*` wildcards ("/api/*"); nil matches every path.
    public var path: String?
    public var requests: Int
    public var period: Int
    /// "block" (429 with Retry-After) or "challenge".
    public var action: String
    public var duration: Int

    public static let actions = ["block", "challenge"]
    public static let periods = 1...3600
    public static let durations = 1...86_400

    public init(id: UUID, path: String?, requests: Int, period: Int, action: String, duration: Int) {
        self.id = id
        self.path = path
        self.requests = requests
        self.period = period
        self.action = action
        self.duration = duration
    }
}

/// A custom firewall rule: when `field` `operator` `value` holds, `action`.
public struct FirewallRuleConfig: Codable, Sendable, Equatable {
    public var id: UUID
    public var field: String
    public var `operator`: String
    public var value: String
    public var action: String

    /// `header:<name>` and `cookie:<name>` name one header or cookie.
    public static let fields = [
        "ip", "country", "method", "host", "path", "query", "uri", "user_agent", "referer", "header:", "cookie:",
    ]
    public static let operators = [
        "equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "matches", "in", "not_in",
    ]
    public static let actions = ["block", "challenge", "log", "allow"]

    public init(id: UUID, field: String, operator: String, value: String, action: String) {
        self.id = id
        self.field = field
        self.operator = `operator`
        self.value = value
        self.action = action
    }

    /// Whether `field` is one of `fields` (`header:x-name` needs a name).
    public static func isValidField(_ field: String) -> Bool {
        for prefix in ["header:", "cookie:"] where field.hasPrefix(prefix) {
            let name = field.dropFirst(prefix.count)
            return !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }
        }
        return fields.contains(field) && !field.hasSuffix(":")
    }
}

/// What the whole network shares: the sanctions list, and the key every edge signs challenge
/// clearances with so that a visitor cleared by one node is cleared by all.
public struct ProtectionConfig: Codable, Sendable, Equatable {
    public var sanctionedCountries: [String]
    /// Base64, 32 bytes.
    public var clearanceKey: String
    /// Leading zero bits the Under Attack Mode proof of work needs.
    public var challengeDifficulty: Int

    public init(sanctionedCountries: [String], clearanceKey: String, challengeDifficulty: Int) {
        self.sanctionedCountries = sanctionedCountries
        self.clearanceKey = clearanceKey
        self.challengeDifficulty = challengeDifficulty
    }
}

/// Why an edge blocked or challenged a request: the guide's "mitigation methods".
public enum Mitigation: String, Codable, Sendable, CaseIterable {
    case rateLimiting = "rate_limiting"
    case jsChallenge = "js_challenge"
    case ipBlacklist = "ip_blacklist"
    case geoipBlock = "geoip_block"
    case wafRules = "waf_rules"
    case connectionLimits = "connection_limits"
}

/// An attack as an edge saw it: reported while active and once more when it ends. `id` is the
/// node's; the coordinator keeps the latest report of each.
public struct AttackEvent: Codable, Sendable, Equatable {
    public var id: UUID
    /// The attacked domain; nil when the connections never named one (a Slowloris before Host).
    public var domain: String?
    /// "http_flood" or "slowloris".
    public var type: String
    /// "low", "medium", "high" or "critical".
    public var severity: String
    public var peakRps: Int
    public var requests: Int64
    public var sourceIps: [String]
    public var sourceCountries: [String]
    /// `Mitigation` raw value.
    public var mitigation: String
    public var startedAt: Date
    public var endedAt: Date?

    public init(
        id: UUID, domain: String?, type: String, severity: String, peakRps: Int, requests: Int64, sourceIps: [String],
        sourceCountries: [String], mitigation: String, startedAt: Date, endedAt: Date?
    ) {
        self.id = id
        self.domain = domain
        self.type = type
        self.severity = severity
        self.peakRps = peakRps
        self.requests = requests
        self.sourceIps = sourceIps
        self.sourceCountries = sourceCountries
        self.mitigation = mitigation
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}
