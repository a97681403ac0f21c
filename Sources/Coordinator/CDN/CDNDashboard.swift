import DCDNCore
import Foundation
import Hummingbird

/// Dashboard → Domains → a domain's Caching (page rules, purge) and Analytics pages.
struct CDNDashboard {
    let cdn: CDNService
    let renderer: DashboardRenderer
    let domains: DomainService

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("domains/:id/caching") { request, context in
            let identity = try context.requirePage()
            return try await cachingPage(identity, try await domains.domain(in: context), request: request)
        }
        dashboard.post("domains/:id/page-rules") { request, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            let form = try await FormData(request, context: context)
            do {
                _ = try await cdn.addRule(Self.draft(form), to: domain)
                return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())/caching?notice=rule_added#rules")
            } catch let error as APIError {
                return try await cachingPage(
                    identity, domain, request: request, status: error.status, ruleError: error.detail,
                    values: ["patternValue": form.string("pattern"), "forwardingValue": form.string("forwarding_url")])
            }
        }
        dashboard.post("domains/:id/page-rules/:rule_id/move") { request, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            let rule = try await cdn.rule(try context.parameters.uuid("rule_id", what: "Page rule"), of: domain)
            let form = try await FormData(request, context: context)
            var draft = CDNService.RuleDraft()
            draft.position = max(1, rule.position + (form["direction"] == "up" ? -1 : 1))
            _ = try await cdn.updateRule(rule, with: draft, domain: domain)
            return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())/caching#rules")
        }
        dashboard.post("domains/:id/page-rules/:rule_id/delete") { _, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            try await cdn.deleteRule(
                try await cdn.rule(try context.parameters.uuid("rule_id", what: "Page rule"), of: domain), domain: domain)
            return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())/caching?notice=rule_deleted#rules")
        }
        dashboard.post("domains/:id/purge") { request, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            let form = try await FormData(request, context: context)
            var draft = CDNService.PurgeDraft()
            let lines = form.string("values").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            switch form.string("kind") {
            case "everything": draft.everything = true
            case "urls": draft.urls = lines
            case "prefixes": draft.prefixes = lines
            case "tags": draft.tags = lines
            default: break
            }
            do {
                _ = try await cdn.purge(draft, domain: domain)
                return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())/caching?notice=purged#purge")
            } catch let error as APIError {
                return try await cachingPage(
                    identity, domain, request: request, status: error.status, purgeError: error.detail,
                    values: ["purgeValues": form.string("values")])
            }
        }
        dashboard.get("domains/:id/analytics") { request, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            let text = request.uri.queryParameters["period"].map(String.init) ?? "24h"
            let period = CDNService.Period(rawValue: text) ?? .day
            let (buckets, totals) = try await cdn.analytics(of: domain, period: period)
            var values: [String: Any] = ["domainID": domain.id!.uuidString.lowercased(), "name": domain.name]
            values["periods"] = CDNService.Period.allCases.map { ["value": $0.rawValue, "selected": $0 == period] }
            values["requests"] = totals.requests
            values["bytes"] = Self.bytes(totals.bytes)
            values["hitRatio"] =
                totals.requests > 0 ? String(format: "%.1f %%", Double(totals.cacheHits) * 100 / Double(totals.requests)) : "—"
            values["statuses"] = [
                ["label": "2xx", "count": totals.status2xx], ["label": "3xx", "count": totals.status3xx],
                ["label": "4xx", "count": totals.status4xx], ["label": "5xx", "count": totals.status5xx],
            ]
            values["chart"] = TrafficChart(buckets: buckets, bucketSeconds: period.bucketSeconds).svg()
            values["empty"] = totals.requests == 0
            return renderer.page("analytics", title: "\(domain.name) · Analytics", identity: identity, active: "domains", values)
        }
    }

    static func draft(_ form: FormData) -> CDNService.RuleDraft {
        var draft = CDNService.RuleDraft()
        draft.pattern = form.string("pattern")
        switch form.string("action") {
        case "bypass": draft.cacheLevel = "bypass"
        case "standard", "aggressive": draft.cacheLevel = form.string("action")
        case "edge_ttl": draft.edgeTtl = Int(form.string("seconds")) ?? -1
        case "browser_ttl": draft.browserTtl = Int(form.string("seconds")) ?? -1
        case "forward_301", "forward_302":
            draft.forwardingUrl = form.string("forwarding_url")
            draft.forwardingStatus = form.string("action") == "forward_301" ? 301 : 302
        case "always_https": draft.alwaysHttps = true
        default: break
        }
        return draft
    }

    func cachingPage(
        _ identity: Identity, _ domain: Domain, request: Request, status: HTTPResponse.Status = .ok, ruleError: String? = nil,
        purgeError: String? = nil, values extra: [String: Any] = [:]
    ) async throws -> Response {
        let id = domain.id!.uuidString.lowercased()
        let rules = try await cdn.rules(of: domain)
        var values = renderer.notice(request)
        values["domainID"] = id
        values["name"] = domain.name
        values["rules"] = rules.map { rule -> [String: Any] in
            [
                "id": rule.id!.uuidString.lowercased(), "position": rule.position, "pattern": rule.pattern, "actions": Self.describe(rule),
                "domainID": id, "first": rule.position == 1, "last": rule.position == rules.count,
            ]
        }
        values["hasRules"] = !rules.isEmpty
        let (purges, _) = try await cdn.purges(of: domain, page: Page(limit: 10, offset: 0))
        var recent: [[String: Any]] = []
        for purge in purges {
            let (done, total) = try await cdn.propagation(of: purge.version)
            let what =
                purge.everything
                ? "Everything"
                : !purge.urls.isEmpty
                    ? "URLs: " + purge.urls.joined(separator: ", ")
                    : !purge.prefixes.isEmpty
                        ? "Prefixes: " + purge.prefixes.joined(separator: ", ") : "Tags: " + purge.tags.joined(separator: ", ")
            recent.append([
                "when": DashboardRenderer.format(purge.createdAt), "what": what, "progress": "\(done) of \(total) edge nodes",
                "complete": done == total,
            ])
        }
        values["purges"] = recent
        values["hasPurges"] = !recent.isEmpty
        values["patternPlaceholder"] = "*.\(domain.name)/api/*"
        if let ruleError { values["ruleError"] = ruleError }
        if let purgeError { values["purgeError"] = purgeError }
        return renderer.page(
            "caching", title: "\(domain.name) · Caching", identity: identity, active: "domains", status: status,
            values.merging(extra) { $1 })
    }

    static func describe(_ rule: PageRule) -> String {
        var parts: [String] = []
        if let url = rule.forwardingURL { parts.append("Forward (\(rule.forwardingStatus ?? 302)) to \(url)") }
        if let level = rule.cacheLevel { parts.append(level == "bypass" ? "Cache bypass" : "Cache level: \(level)") }
        if let ttl = rule.edgeTTL { parts.append("Edge TTL: \(ttl) s") }
        if let ttl = rule.browserTTL { parts.append("Browser TTL: \(ttl) s") }
        if rule.alwaysHTTPS { parts.append("Always use HTTPS") }
        return parts.joined(separator: " · ")
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
