import DCDNCore
import FluentKit
import Foundation
import NodeProtocol

/// Domains' firewalls (product guide §9, §15): settings, rate limits and custom rules that
/// reach every edge with the configuration; Under Attack Mode; the attacks and traffic edges
/// report, summed for the DDoS Protection page.
public struct SecurityService: Sendable {
    let store: DatabaseStore
    let feed: ConfigFeed
    let domains: DomainService
    /// Rate limits and firewall rules per domain are plan data.
    let planLimits: PlanLimits
    var db: any Database { store.db }

    static let maxListEntries = 1000
    static let clearanceRange = 5...10_080

    // MARK: Settings and rules

    /// The domain's firewall row, or the defaults (unsaved) when it was never edited.
    public func settings(of domain: Domain, on database: (any Database)? = nil) async throws -> DomainSecurity {
        try await DomainSecurity.query(on: database ?? db).filter(\.$domain.$id == domain.id!).first()
            ?? DomainSecurity(domainID: domain.id!)
    }

    public struct SettingsDraft: Decodable, Sendable {
        var ipAllow: [String]?
        var ipBlock: [String]?
        var countryAllow: [String]?
        var countryBlock: [String]?
        var wafSensitivity: String?
        var clearanceMinutes: Int?
        var underAttack: Bool?
    }

    public func update(_ domain: Domain, with draft: SettingsDraft) async throws -> DomainSecurity {
        try await edit(domain, underAttack: draft.underAttack) { security, _ in
            if let list = draft.ipAllow { security.ipAllow = try Self.addresses(list, field: "ip_allow") }
            if let list = draft.ipBlock { security.ipBlock = try Self.addresses(list, field: "ip_block") }
            if let list = draft.countryAllow { security.countryAllow = try Self.countries(list, field: "country_allow") }
            if let list = draft.countryBlock { security.countryBlock = try Self.countries(list, field: "country_block") }
            if let sensitivity = draft.wafSensitivity {
                guard WAFSensitivity(rawValue: sensitivity) != nil else {
                    throw APIError.validation("waf_sensitivity", "must be off, low, medium or high")
                }
                security.wafSensitivity = sensitivity
            }
            if let minutes = draft.clearanceMinutes {
                guard Self.clearanceRange.contains(minutes) else {
                    throw APIError.validation("clearance_minutes", "must be 5 to 10080 minutes (a week)")
                }
                security.clearanceMinutes = minutes
            }
            return security
        }
    }

    /// Turns Under Attack Mode on or off (`POST /ddos/under-attack`).
    public func setUnderAttack(_ domain: Domain, enabled: Bool) async throws {
        domain.underAttack = enabled
        try await domains.touch(domain)
    }

    public struct RateLimitDraft: Decodable, Sendable {
        var path: String?
        var requests: Int?
        var period: Int?
        var action: String?
        var duration: Int?
    }

    public func addRateLimit(_ draft: RateLimitDraft, to domain: Domain) async throws -> RateLimitRuleConfig {
        try await edit(domain) { [planLimits] security, db in
            try await planLimits.check(.rateLimitsPerDomain, within: domain, used: Int64(security.rateLimits.count), on: db)
            var path = draft.path?.trimmingCharacters(in: .whitespaces)
            if path?.isEmpty == true { path = nil }
            if let path {
                guard path == "*" || path.hasPrefix("/"), path.utf8.count <= 256, !path.contains(where: { $0.isWhitespace }) else {
                    throw APIError.validation("path", "must start with / (a * matches anything), at most 256 characters")
                }
            }
            guard let requests = draft.requests, (1...1_000_000).contains(requests) else {
                throw APIError.validation("requests", "must be 1 to 1000000")
            }
            guard let period = draft.period, RateLimitRuleConfig.periods.contains(period) else {
                throw APIError.validation("period", "must be 1 to 3600 seconds")
            }
            let action = draft.action ?? "block"
            guard RateLimitRuleConfig.actions.contains(action) else { throw APIError.validation("action", "must be block or challenge") }
            let duration = draft.duration ?? 60
            guard RateLimitRuleConfig.durations.contains(duration) else {
                throw APIError.validation("duration", "must be 1 to 86400 seconds")
            }
            let rule = RateLimitRuleConfig(id: UUID(), path: path, requests: requests, period: period, action: action, duration: duration)
            security.rateLimits.append(rule)
            return rule
        }
    }

    public func deleteRateLimit(_ id: UUID, of domain: Domain) async throws {
        try await edit(domain) { security, _ in
            guard security.rateLimits.contains(where: { $0.id == id }) else { throw APIError.notFound("Rate limit") }
            security.rateLimits.removeAll { $0.id == id }
        }
    }

    public struct FirewallRuleDraft: Decodable, Sendable {
        var field: String?
        var `operator`: String?
        var value: String?
        var action: String?
        /// 1-based; the end of the list by default.
        var position: Int?
    }

    public func addFirewallRule(_ draft: FirewallRuleDraft, to domain: Domain) async throws -> FirewallRuleConfig {
        try await edit(domain) { [planLimits] security, db in
            try await planLimits.check(.firewallRulesPerDomain, within: domain, used: Int64(security.firewallRules.count), on: db)
            guard let field = draft.field, FirewallRuleConfig.isValidField(field) else {
                throw APIError.validation(
                    "field", "must be ip, country, method, host, path, query, uri, user_agent, referer, header:<name> or cookie:<name>")
            }
            guard let op = draft.operator, FirewallRuleConfig.operators.contains(op) else {
                throw APIError.validation("operator", "must be one of \(FirewallRuleConfig.operators.joined(separator: ", "))")
            }
            guard let value = draft.value?.trimmingCharacters(in: .whitespaces), !value.isEmpty, value.utf8.count <= 1024 else {
                throw APIError.validation("value", "is required (at most 1024 characters)")
            }
            let action = draft.action ?? "block"
            guard FirewallRuleConfig.actions.contains(action) else {
                throw APIError.validation("action", "must be block, challenge, log or allow")
            }
            let items = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            switch (field, op) {
            case (_, "matches"):
                guard (try? Regex(value)) != nil else { throw APIError.validation("value", "is not a valid regular expression") }
            case ("ip", "in"), ("ip", "not_in"), ("ip", "equals"), ("ip", "not_equals"):
                _ = try Self.addresses(items, field: "value")
            case ("country", "in"), ("country", "not_in"), ("country", "equals"), ("country", "not_equals"):
                _ = try Self.countries(items, field: "value")
            default: break
            }
            let rule = FirewallRuleConfig(id: UUID(), field: field, operator: op, value: value, action: action)
            let position = min(max(draft.position ?? security.firewallRules.count + 1, 1), security.firewallRules.count + 1)
            security.firewallRules.insert(rule, at: position - 1)
            return rule
        }
    }

    public func deleteFirewallRule(_ id: UUID, of domain: Domain) async throws {
        try await edit(domain) { security, _ in
            guard security.firewallRules.contains(where: { $0.id == id }) else { throw APIError.notFound("Firewall rule") }
            security.firewallRules.removeAll { $0.id == id }
        }
    }

    /// Reads the domain's firewall row, lets `change` edit it, saves it and publishes the
    /// domain's new configuration — holding the domain throughout, so that parallel edits (two
    /// rules added at once) each see the other's and a plan limit counts both. A throw changes nothing.
    @discardableResult
    private func edit<T: Sendable>(
        _ domain: Domain, underAttack: Bool? = nil, _ change: @escaping @Sendable (DomainSecurity, any Database) async throws -> T
    ) async throws -> T {
        let result = try await store.exclusively(Domain.schema, id: domain.id!) { [self] db in
            let security = try await settings(of: domain, on: db)
            let result = try await change(security, db)
            try await security.save(on: db)
            if let underAttack { domain.underAttack = underAttack }
            try await domains.touch(domain, on: db)
            return result
        }
        feed.changed()
        return result
    }

    static func addresses(_ list: [String], field: String) throws -> [String] {
        guard list.count <= maxListEntries else { throw APIError.validation(field, "holds at most \(maxListEntries) entries") }
        return try list.map { entry in
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            guard let cidr = CIDR(trimmed) else { throw APIError.validation(field, "\(entry) is not an IP address or CIDR") }
            return cidr.prefixLength == cidr.network.bytes.count * 8 ? cidr.network.description : cidr.description
        }
    }

    static func countries(_ list: [String], field: String) throws -> [String] {
        guard list.count <= 300 else { throw APIError.validation(field, "holds at most 300 countries") }
        return try list.map { entry in
            let code = entry.trimmingCharacters(in: .whitespaces).uppercased()
            guard code.count == 2, code.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw APIError.validation(field, "\(entry) is not a two-letter ISO 3166 country code")
            }
            return code
        }
    }

    // MARK: Reports

    /// Adds a node report's countries, mitigations and attacks.
    func ingest(_ report: NodeReport, from node: Node, now: Date = Date()) async throws {
        let hour = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        for counters in report.domains.prefix(10_000) {
            for (dimension, values) in [("country", counters.countries ?? [:]), ("mitigation", counters.mitigations ?? [:])] {
                for (key, requests) in values.prefix(300) where requests > 0 && key.utf8.count <= 32 {
                    try await addBreakdown(domain: counters.domain, hour: hour, dimension: dimension, key: key, requests: requests)
                }
            }
        }
        for event in report.attacks.prefix(100) { try await record(event, from: node) }
    }

    private func addBreakdown(domain: String, hour: Date, dimension: String, key: String, requests: Int64) async throws {
        if let row = try await TrafficBreakdown.query(on: db).filter(\.$domainName == domain).filter(\.$hour == hour)
            .filter(\.$dimension == dimension).filter(\.$key == key).first()
        {
            row.requests += requests
            try await row.save(on: db)
            return
        }
        let row = TrafficBreakdown()
        row.domainName = String(domain.prefix(253))
        row.hour = hour
        row.dimension = dimension
        row.key = key
        row.requests = requests
        try await row.save(on: db)
    }

    /// One node's view of an attack: its own row, or the row of the same attack another node
    /// reported (same domain and type, still active or ended within a minute).
    private func record(_ event: AttackEvent, from node: Node) async throws {
        let reportID = event.id.uuidString
        let recent = try await AttackRecord.query(on: db).filter(\.$type == event.type).sort(\.$startedAt, .descending).limit(50).all()
            .filter { $0.domainName == event.domain }
        var row = recent.first { $0.reports.contains(reportID) }
        if row == nil, let latest = recent.first, latest.endedAt.map({ $0 > event.startedAt.addingTimeInterval(-60) }) ?? true {
            row = latest
        }
        let attack = row ?? AttackRecord()
        if row == nil {
            attack.domainName = event.domain
            attack.type = event.type
            attack.startedAt = event.startedAt
            attack.peakRPS = 0
            attack.requests = 0
            attack.sourceIPs = []
            attack.sourceCountries = []
            attack.reports = []
            attack.nodes = []
        }
        if !attack.reports.contains(reportID) { attack.reports.append(reportID) }
        if !attack.nodes.contains(node.name) { attack.nodes.append(node.name) }
        attack.severity = row == nil ? event.severity : Self.worse(attack.severity, event.severity)
        attack.mitigation = event.mitigation
        attack.peakRPS = max(attack.peakRPS, event.peakRps)
        attack.requests = max(attack.requests, event.requests)
        attack.sourceIPs = Array((event.sourceIps + attack.sourceIPs).uniqued().prefix(10))
        attack.sourceCountries = Array((event.sourceCountries + attack.sourceCountries).uniqued().prefix(5))
        attack.startedAt = min(attack.startedAt, event.startedAt)
        attack.endedAt = event.endedAt
        try await attack.save(on: db)
    }

    static let severities = ["low", "medium", "high", "critical"]

    static func worse(_ a: String, _ b: String) -> String {
        return (severities.firstIndex(of: a) ?? 0) >= (severities.firstIndex(of: b) ?? 0) ? a : b
    }
}

extension Array where Element: Hashable {
    /// The elements in order, without repeats.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

// MARK: The DDoS Protection page

extension SecurityService {
    public struct TrafficPoint: Codable, Sendable {
        var start: Date
        var total: Int64 = 0
        var blocked: Int64 = 0
        var challenged: Int64 = 0
    }

    public struct CountryCount: Codable, Sendable {
        var country: String
        var requests: Int64
    }

    public struct Overview: Codable, Sendable {
        var protection = "active"
        var period = "24h"
        var domains: Int
        var underAttackDomains: [String]
        var requests: Int64 = 0
        var bandwidthBytes: Int64 = 0
        var blocked: Int64 = 0
        var challenged: Int64 = 0
        /// Hits over requests, 0 to 1.
        var cacheHitRate: Double = 0
        var requestsPerSecond: Double = 0
        /// 0 (calm) to 100: the share of refused traffic and the worst active attack.
        var threatScore = 0
        /// Hourly, oldest first.
        var traffic: [TrafficPoint] = []
        var attackTypes: [String: Int] = [:]
        var mitigationMethods: [String: Int64] = [:]
        var topCountries: [CountryCount] = []
        var recentAttacks: [AttackResponse] = []
    }

    public struct Live: Codable, Sendable {
        var windowSeconds: Int
        var requestsPerSecond: Double
        var bandwidthBps: Double
        var blockedPerSecond: Double
        var challengedPerSecond: Double
        var cacheHitRate: Double
        var threatScore: Int
        var activeAttacks: Int
        var at: Date
    }

    public struct AttackResponse: Codable, Sendable {
        var id: UUID
        var domain: String?
        var type: String
        var severity: String
        var peakRps: Int
        var requests: Int64
        var sourceIps: [String]
        var sourceCountries: [String]
        var mitigation: String
        var status: String
        var startedAt: Date
        var endedAt: Date?
        var nodes: [String]

        init(_ record: AttackRecord) {
            id = record.id!
            domain = record.domainName
            type = record.type
            severity = record.severity
            peakRps = record.peakRPS
            requests = record.requests
            sourceIps = record.sourceIPs
            sourceCountries = record.sourceCountries
            mitigation = record.mitigation
            status = record.status
            startedAt = record.startedAt
            endedAt = record.endedAt
            nodes = record.nodes
        }
    }

    /// The attack types the page lists, in its order (the guide's four).
    static let attackTypes = ["http_flood", "slowloris", "syn_flood", "dns_amplification"]
    static let mitigationMethods = ["rate_limiting", "js_challenge", "ip_blacklist", "geoip_block", "waf_rules"]

    /// The domains a view covers: the one asked for, or all of the user's.
    func scope(_ user: User, domain: Domain?) async throws -> [Domain] {
        if let domain { return [domain] }
        return try await Domain.query(on: db).filter(\.$owner.$id == user.id!).all()
    }

    public func overview(of domains: [Domain], now: Date = Date()) async throws -> Overview {
        var overview = Overview(domains: domains.count, underAttackDomains: domains.filter(\.underAttack).map(\.name).sorted())
        let end = (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600 + 3600
        let start = end - 86_400
        overview.traffic = stride(from: start, to: end, by: 3600).map { TrafficPoint(start: Date(timeIntervalSince1970: $0)) }
        let counters = try await counters(of: domains, since: Date(timeIntervalSince1970: start))
        var hits: Int64 = 0
        for row in counters {
            let index = Int((row.minute.timeIntervalSince1970 - start) / 3600)
            guard overview.traffic.indices.contains(index) else { continue }
            overview.traffic[index].total += row.requests
            overview.traffic[index].blocked += row.blocked
            overview.traffic[index].challenged += row.challenged
            overview.requests += row.requests
            overview.bandwidthBytes += row.bytes
            overview.blocked += row.blocked
            overview.challenged += row.challenged
            hits += row.cacheHits
        }
        overview.cacheHitRate = overview.requests > 0 ? Double(hits) / Double(overview.requests) : 0
        let live = try await live(of: domains, now: now)
        overview.requestsPerSecond = live.requestsPerSecond
        let names = domains.map(\.name)
        let breakdowns =
            names.isEmpty
            ? []
            : try await TrafficBreakdown.query(on: db).filter(\.$domainName ~~ names).filter(\.$hour >= Date(timeIntervalSince1970: start))
                .all()
        var countries: [String: Int64] = [:]
        for method in Self.mitigationMethods { overview.mitigationMethods[method] = 0 }
        for row in breakdowns {
            if row.dimension == "country" { countries[row.key, default: 0] += row.requests }
            if row.dimension == "mitigation" { overview.mitigationMethods[row.key, default: 0] += row.requests }
        }
        overview.topCountries = countries.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(10).map {
            CountryCount(country: $0.key, requests: $0.value)
        }
        let attacks = try await attacks(of: domains, since: Date(timeIntervalSince1970: start))
        for type in Self.attackTypes { overview.attackTypes[type] = 0 }
        for attack in attacks { overview.attackTypes[attack.type, default: 0] += 1 }
        overview.recentAttacks = attacks.prefix(10).map(AttackResponse.init)
        // The score is the present one: what is refused now and the attacks still going on.
        overview.threatScore = live.threatScore
        return overview
    }

    /// Rates over the last complete minute and the current one.
    public func live(of domains: [Domain], now: Date = Date()) async throws -> Live {
        let start = (now.timeIntervalSince1970 / 60).rounded(.down) * 60 - 60
        let seconds = max(now.timeIntervalSince1970 - start, 1)
        let rows = try await counters(of: domains, since: Date(timeIntervalSince1970: start))
        let requests = rows.reduce(0) { $0 + $1.requests }
        let refused = rows.reduce(0) { $0 + $1.blocked + $1.challenged }
        let active = try await attacks(of: domains, since: Date(timeIntervalSince1970: 0)).filter { $0.endedAt == nil }
        return Live(
            windowSeconds: Int(seconds.rounded()), requestsPerSecond: Double(requests) / seconds,
            bandwidthBps: Double(rows.reduce(0) { $0 + $1.bytes }) * 8 / seconds,
            blockedPerSecond: Double(rows.reduce(0) { $0 + $1.blocked }) / seconds,
            challengedPerSecond: Double(rows.reduce(0) { $0 + $1.challenged }) / seconds,
            cacheHitRate: requests > 0 ? Double(rows.reduce(0) { $0 + $1.cacheHits }) / Double(requests) : 0,
            threatScore: Self.threatScore(requests: requests, refused: refused, active: active), activeAttacks: active.count, at: now)
    }

    /// Attacks on the domains, newest first (`limit`/`offset` pages).
    func attacks(of domains: [Domain], status: String? = nil, page: Page) async throws -> ([AttackRecord], Int) {
        var all = try await attacks(of: domains, since: Date(timeIntervalSince1970: 0))
        if let status { all = all.filter { $0.status == status } }
        return (Array(all.dropFirst(page.offset).prefix(page.limit)), all.count)
    }

    private func attacks(of domains: [Domain], since: Date) async throws -> [AttackRecord] {
        let names = domains.map(\.name)
        guard !names.isEmpty else { return [] }
        // A domain's attacks from before it was added (a previous owner's) are not its own.
        let created = Dictionary(domains.map { ($0.name, $0.createdAt ?? .distantPast) }, uniquingKeysWith: min)
        return try await AttackRecord.query(on: db).filter(\.$domainName ~~ names).filter(\.$startedAt >= since)
            .sort(\.$startedAt, .descending).all()
            .filter { attack in attack.domainName.flatMap { created[$0] }.map { attack.startedAt >= $0.addingTimeInterval(-60) } ?? false }
    }

    private func counters(of domains: [Domain], since: Date) async throws -> [TrafficCounter] {
        let names = domains.map(\.name)
        guard !names.isEmpty else { return [] }
        let created = Dictionary(domains.map { ($0.name, $0.createdAt ?? .distantPast) }, uniquingKeysWith: min)
        return try await TrafficCounter.query(on: db).filter(\.$domainName ~~ names).filter(\.$minute >= since).all().filter {
            $0.minute >= (created[$0.domainName] ?? .distantPast).addingTimeInterval(-60)
        }
    }

    static func threatScore(requests: Int64, refused: Int64, active: [AttackRecord]) -> Int {
        let share = requests > 0 ? min(60, Int((Double(refused) / Double(requests) * 60).rounded())) : 0
        let worst = active.map { (severities.firstIndex(of: $0.severity) ?? 0) + 1 }.max() ?? 0
        return min(100, share + worst * 10)
    }
}
