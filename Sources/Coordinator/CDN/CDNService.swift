import DCDNCore
import FluentKit
import Foundation
import HTTPTypes

/// A domain's caching controls beyond its settings: page rules, purges and traffic analytics.
/// Page-rule changes and purges bump the configuration version, so every edge has them within
/// a long poll (well under 2 s).
public struct CDNService: Sendable {
    let store: DatabaseStore
    let feed: ConfigFeed
    let domains: DomainService
    /// Page rules per domain are plan data.
    let planLimits: PlanLimits
    var db: any Database { store.db }

    static let maxPurgeItems = 100
    /// A page rule's edge TTL may go lower than the domain's (1 hour), down to a second.
    static let ruleEdgeTTLRange = 1...2_592_000

    // MARK: Page rules

    public struct RuleDraft: Decodable, Sendable {
        var pattern: String?
        var position: Int?
        var cacheLevel: String?
        var edgeTtl: Int?
        var browserTtl: Int?
        var forwardingUrl: String?
        var forwardingStatus: Int?
        var alwaysHttps: Bool?
        /// Names of the actions to remove on update ("cache_level", "edge_ttl", …).
        var clear: [String]?
    }

    public func rules(of domain: Domain) async throws -> [PageRule] {
        try await PageRule.query(on: db).filter(\.$domain.$id == domain.id!).sort(\.$position).sort(\.$createdAt).all()
    }

    public func rule(_ id: UUID, of domain: Domain) async throws -> PageRule {
        guard let rule = try await PageRule.query(on: db).filter(\.$id == id).filter(\.$domain.$id == domain.id!).first() else {
            throw APIError(.notFound, code: .notFound, detail: "Page rule not found")
        }
        return rule
    }

    /// A domain's rules in order, read on `db` (the transaction that holds the domain).
    private func rules(of domain: Domain, on db: any Database) async throws -> [PageRule] {
        try await PageRule.query(on: db).filter(\.$domain.$id == domain.id!).sort(\.$position).sort(\.$createdAt).all()
    }

    /// Rule edits hold the domain (`DatabaseStore.exclusively`): parallel ones number the rules
    /// in turn and a plan limit counts every rule.
    public func addRule(_ draft: RuleDraft, to domain: Domain) async throws -> PageRule {
        let rule = PageRule()
        rule.$domain.id = domain.id!
        rule.alwaysHTTPS = false
        rule.position = 0
        try fill(rule, from: draft, domain: domain, creating: true)
        try await store.exclusively(Domain.schema, id: domain.id!) { [self] db in
            let existing = try await rules(of: domain, on: db)
            try await planLimits.check(.pageRulesPerDomain, within: domain, used: Int64(existing.count), on: db)
            let position = min(max(draft.position ?? existing.count + 1, 1), existing.count + 1)
            try await reorder(existing, inserting: rule, at: position, on: db)
            try await domains.touch(domain, on: db)
        }
        feed.changed()
        return rule
    }

    public func updateRule(_ rule: PageRule, with draft: RuleDraft, domain: Domain) async throws -> PageRule {
        try fill(rule, from: draft, domain: domain, creating: false)
        try await store.exclusively(Domain.schema, id: domain.id!) { [self] db in
            let others = try await rules(of: domain, on: db).filter { $0.id != rule.id }
            let position = min(max(draft.position ?? rule.position, 1), others.count + 1)
            try await reorder(others, inserting: rule, at: position, on: db)
            try await domains.touch(domain, on: db)
        }
        feed.changed()
        return rule
    }

    public func deleteRule(_ rule: PageRule, domain: Domain) async throws {
        try await store.exclusively(Domain.schema, id: domain.id!) { [self] db in
            try await rule.delete(on: db)
            try await reorder(try await PageRule.query(on: db).filter(\.$domain.$id == domain.id!).sort(\.$position).all(), on: db)
            try await domains.touch(domain, on: db)
        }
        feed.changed()
    }

    /// Numbers the rules 1…n, `inserting` at `position`.
    private func reorder(_ rules: [PageRule], inserting: PageRule? = nil, at position: Int = 0, on db: any Database) async throws {
        var ordered = rules
        if let inserting { ordered.insert(inserting, at: position - 1) }
        for (index, rule) in ordered.enumerated() {
            let wanted = index + 1
            if rule.position != wanted || rule === inserting {
                rule.position = wanted
                try await rule.save(on: db)
            }
        }
    }

    private func fill(_ rule: PageRule, from draft: RuleDraft, domain: Domain, creating: Bool) throws {
        for name in draft.clear ?? [] {
            switch name {
            case "cache_level": rule.cacheLevel = nil
            case "edge_ttl": rule.edgeTTL = nil
            case "browser_ttl": rule.browserTTL = nil
            case "forwarding_url": rule.forwardingURL = nil
            case "always_https": rule.alwaysHTTPS = false
            default:
                throw APIError.validation(
                    "clear", "\(name) is not an action (cache_level, edge_ttl, browser_ttl, forwarding_url, always_https)")
            }
        }
        if let pattern = draft.pattern ?? (creating ? "" : nil) {
            rule.pattern = try Self.validPattern(pattern, domain: domain.name)
        }
        if let level = draft.cacheLevel { rule.cacheLevel = try DomainService.cacheLevel(level).rawValue }
        if let ttl = draft.edgeTtl {
            guard Self.ruleEdgeTTLRange.contains(ttl) else {
                throw APIError.validation("edge_ttl", "must be 1 to 2592000 (30 days) seconds")
            }
            rule.edgeTTL = ttl
        }
        if let ttl = draft.browserTtl { rule.browserTTL = try DomainService.browserTTL(ttl) }
        if let url = draft.forwardingUrl {
            guard url.utf8.count <= 2048, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                parsed.host?.isEmpty == false
            else { throw APIError.validation("forwarding_url", "must be an http(s) URL; $1, $2… insert the pattern's wildcards") }
            rule.forwardingURL = url
        }
        if let status = draft.forwardingStatus {
            guard status == 301 || status == 302 else { throw APIError.validation("forwarding_status", "must be 301 or 302") }
            rule.forwardingStatus = status
        }
        if let https = draft.alwaysHttps { rule.alwaysHTTPS = https }
        if rule.forwardingURL == nil { rule.forwardingStatus = nil } else if rule.forwardingStatus == nil { rule.forwardingStatus = 302 }
        let caching = rule.cacheLevel != nil || rule.edgeTTL != nil || rule.browserTTL != nil || rule.alwaysHTTPS
        if rule.forwardingURL != nil, caching {
            throw APIError.validation("forwarding_url", "a forwarding rule redirects and cannot have other actions")
        }
        guard caching || rule.forwardingURL != nil else {
            throw APIError.validation(
                "actions", "give at least one action: cache_level, edge_ttl, browser_ttl, forwarding_url or always_https")
        }
    }

    /// A compilable pattern whose host part is the domain or one of its names.
    static func validPattern(_ text: String, domain: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard PageRulePattern(trimmed) != nil else {
            throw APIError.validation(
                "pattern",
                "must be a URL pattern such as *.\(domain)/api/* (at most \(PageRulePattern.maxLength) characters, \(PageRulePattern.maxWildcards) wildcards, no spaces)"
            )
        }
        var rest = Substring(trimmed)
        for scheme in ["http://", "https://"] where rest.lowercased().hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        let host = (rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").lowercased()
        let bare = host.drop { $0 == "*" || $0 == "." }
        guard
            host == domain || (bare.hasSuffix(domain) && (bare.count == domain.count || bare.dropLast(domain.count).hasSuffix(".")))
                || (host.hasPrefix("*") && bare == domain)
        else {
            throw APIError.validation("pattern", "must be for \(domain) or one of its subdomains, such as \(domain)/* or *.\(domain)/*")
        }
        return trimmed
    }

    static func config(_ rule: PageRule) -> PageRuleConfig {
        PageRuleConfig(
            pattern: rule.pattern, cacheLevel: rule.cacheLevel, edgeTtl: rule.edgeTTL, browserTtl: rule.browserTTL,
            forwardingUrl: rule.forwardingURL, forwardingStatus: rule.forwardingStatus, alwaysHttps: rule.alwaysHTTPS ? true : nil)
    }

    // MARK: Purge

    public struct PurgeDraft: Decodable, Sendable {
        var everything: Bool?
        var urls: [String]?
        var prefixes: [String]?
        var tags: [String]?
        /// Cloudflare's name for `urls`, accepted for scripts moving over.
        var files: [String]?
    }

    public func purge(_ draft: PurgeDraft, domain: Domain) async throws -> PurgeRequest {
        let urls = draft.urls ?? draft.files
        let given = [draft.everything == true, urls != nil, draft.prefixes != nil, draft.tags != nil].filter { $0 }.count
        guard given == 1 else {
            throw APIError.validation("everything", "give exactly one of everything (true), urls, prefixes or tags")
        }
        let purge = PurgeRequest()
        purge.$domain.id = domain.id!
        purge.domainName = domain.name
        purge.everything = draft.everything == true
        purge.urls = try urls.map { try Self.purgeURLs($0, field: "urls", domain: domain.name) } ?? []
        purge.prefixes = try draft.prefixes.map { try Self.purgeURLs($0, field: "prefixes", domain: domain.name) } ?? []
        purge.tags =
            try draft.tags.map { tags in
                try Self.checkCount(tags, field: "tags")
                return try tags.map { tag in
                    let trimmed = tag.trimmingCharacters(in: .whitespaces)
                    guard !trimmed.isEmpty, trimmed.utf8.count <= 1024, !trimmed.contains(",") else {
                        throw APIError.validation("tags", "each tag is 1 to 1024 characters without commas")
                    }
                    return trimmed
                }
            } ?? []
        try await db.transaction { db in
            purge.version = try await feed.bump(on: db)
            try await purge.create(on: db)
        }
        feed.changed()
        return purge
    }

    func purges(of domain: Domain, page: Page) async throws -> ([PurgeRequest], Int) {
        let query = PurgeRequest.query(on: db).filter(\.$domain.$id == domain.id!)
        let total = try await query.count()
        let items = try await query.sort(\.$version, .descending).range(page.offset..<(page.offset + page.limit)).all()
        return (items, total)
    }

    /// How many healthy edge nodes have synced a configuration at least as new as `version`.
    public func propagation(of version: Int64) async throws -> (done: Int, total: Int) {
        let edges = try await Node.query(on: db).filter(\.$healthy == true).all().filter { $0.roles.contains("edge") }
        return (edges.filter { ($0.configVersionSeen ?? 0) >= version }.count, edges.count)
    }

    static func checkCount(_ items: [String], field: String) throws {
        guard (1...maxPurgeItems).contains(items.count) else { throw APIError.validation(field, "give 1 to \(maxPurgeItems) items") }
    }

    /// `https://host/path`, `host/path` or `/path` (the apex) as `host/path`, within the domain.
    static func purgeURLs(_ items: [String], field: String, domain: String) throws -> [String] {
        try checkCount(items, field: field)
        return try items.map { item in
            var rest = Substring(item.trimmingCharacters(in: .whitespaces))
            for scheme in ["https://", "http://"] where rest.lowercased().hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
            if rest.hasPrefix("/") { rest = Substring(domain) + rest }
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            var host = rest[..<slash].lowercased()
            if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
            guard item.utf8.count <= 2048, !rest.contains(where: \.isWhitespace), host == domain || host.hasSuffix("." + domain) else {
                throw APIError.validation(field, "\(item) is not a URL of \(domain)")
            }
            return host + (slash == rest.endIndex ? "/" : String(rest[slash...]))
        }
    }

    // MARK: Analytics

    public enum Period: String, CaseIterable, Sendable {
        case hour = "1h", day = "24h", week = "7d", month = "30d"

        var seconds: Int {
            switch self {
            case .hour: 3600
            case .day: 86_400
            case .week: 7 * 86_400
            case .month: 30 * 86_400
            }
        }
        var bucketSeconds: Int {
            switch self {
            case .hour: 60
            case .day: 3600
            case .week: 6 * 3600
            case .month: 86_400
            }
        }
    }

    public struct Bucket: Codable, Sendable, Equatable {
        var start: Date
        var requests: Int64 = 0
        var bytes: Int64 = 0
        var cacheHits: Int64 = 0
        var status2xx: Int64 = 0
        var status3xx: Int64 = 0
        var status4xx: Int64 = 0
        var status5xx: Int64 = 0

        mutating func add(_ other: Bucket) {
            requests += other.requests
            bytes += other.bytes
            cacheHits += other.cacheHits
            status2xx += other.status2xx
            status3xx += other.status3xx
            status4xx += other.status4xx
            status5xx += other.status5xx
        }
    }

    /// Zero-filled buckets covering `period` up to now, and their sum. Counters older than the
    /// domain (a previous owner's traffic under the same name) are not shown.
    public func analytics(of domain: Domain, period: Period, now: Date = Date()) async throws -> (buckets: [Bucket], totals: Bucket) {
        let step = Double(period.bucketSeconds)
        let end = (now.timeIntervalSince1970 / step).rounded(.down) * step + step
        let start = end - Double(period.seconds)
        // Counters are per minute: the domain's own first minute counts.
        let created = ((domain.createdAt?.timeIntervalSince1970 ?? 0) / 60).rounded(.down) * 60
        let since = Date(timeIntervalSince1970: max(start, created))
        let rows = try await TrafficCounter.query(on: db).filter(\.$domainName == domain.name).filter(\.$minute >= since).all()
        var buckets = stride(from: start, to: end, by: step).map { Bucket(start: Date(timeIntervalSince1970: $0)) }
        var totals = Bucket(start: Date(timeIntervalSince1970: start))
        for row in rows {
            let index = Int((row.minute.timeIntervalSince1970 - start) / step)
            guard buckets.indices.contains(index) else { continue }
            let counted = Bucket(
                start: row.minute, requests: row.requests, bytes: row.bytes, cacheHits: row.cacheHits, status2xx: row.status2xx,
                status3xx: row.status3xx, status4xx: row.status4xx, status5xx: row.status5xx)
            buckets[index].add(counted)
            totals.add(counted)
        }
        return (buckets, totals)
    }
}
