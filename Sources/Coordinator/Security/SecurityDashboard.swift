import DCDNCore
import Foundation
import Hummingbird
import NodeProtocol

/// Dashboard → DDoS Protection (live figures, the 24-hour chart, attacks, Under Attack Mode)
/// and a domain's Security page (lists, WAF sensitivity, rate limits, custom rules).
struct SecurityDashboard {
    let renderer: DashboardRenderer
    let domains: DomainService
    let security: SecurityService
    let settings: DCDNSettings

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("ddos") { request, context in
            let identity = try context.requirePage()
            return try await ddosPage(identity, request: request)
        }
        dashboard.get("ddos/live.json") { request, context -> SecurityService.Live in
            let identity = try context.requirePage()
            return try await security.live(of: try await scope(identity, request))
        }
        dashboard.post("ddos/under-attack") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            guard let id = UUID(uuidString: form.string("domain_id")) else { throw APIError.validation("domain_id", "must be a UUID") }
            let domain = try await domains.domain(id, of: identity.user)
            let enabled = form.string("enabled") == "on"
            try await security.setUnderAttack(domain, enabled: enabled)
            let notice = "notice=under_attack_\(enabled ? "on" : "off")"
            if form.string("from") == "security" {
                return Response.redirect(to: "/dashboard/domains/\(id.uuidString.lowercased())/security?\(notice)")
            }
            let scope = UUID(uuidString: form.string("scope")).map { "domain_id=\($0.uuidString.lowercased())&" } ?? ""
            return Response.redirect(to: "/dashboard/ddos?\(scope)\(notice)")
        }
        dashboard.get("domains/:id/security") { request, context in
            let identity = try context.requirePage()
            return try await securityPage(identity, try await domains.domain(in: context), request: request)
        }
        dashboard.post("domains/:id/security") { request, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            let form = try await FormData(request, context: context)
            var draft = SecurityService.SettingsDraft()
            draft.ipAllow = Self.items(form.string("ip_allow"))
            draft.ipBlock = Self.items(form.string("ip_block"))
            draft.countryAllow = Self.items(form.string("country_allow"))
            draft.countryBlock = Self.items(form.string("country_block"))
            draft.wafSensitivity = form.string("waf_sensitivity")
            draft.clearanceMinutes = Int(form.string("clearance_minutes"))
            return try await attempt(identity, domain, request: request, form: form, section: "settings", notice: "firewall_saved") {
                _ = try await security.update(domain, with: draft)
            }
        }
        dashboard.post("domains/:id/security/rate-limits") { request, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            let form = try await FormData(request, context: context)
            let draft = SecurityService.RateLimitDraft(
                path: form.string("path"), requests: Int(form.string("requests")), period: Int(form.string("period")),
                action: form.string("action"), duration: Int(form.string("duration")))
            return try await attempt(identity, domain, request: request, form: form, section: "rate-limits", notice: "rate_limit_added") {
                _ = try await security.addRateLimit(draft, to: domain)
            }
        }
        dashboard.post("domains/:id/security/rate-limits/:rule_id/delete") { _, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            try await security.deleteRateLimit(try context.parameters.uuid("rule_id", what: "Rate limit"), of: domain)
            return Response.redirect(
                to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())/security?notice=rate_limit_deleted#rate-limits")
        }
        dashboard.post("domains/:id/security/firewall-rules") { request, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            let form = try await FormData(request, context: context)
            let draft = SecurityService.FirewallRuleDraft(
                field: form.string("field") == "header:" || form.string("field") == "cookie:"
                    ? form.string("field") + form.string("name") : form.string("field"),
                operator: form.string("operator"), value: form.string("value"), action: form.string("action"))
            return try await attempt(
                identity, domain, request: request, form: form, section: "firewall-rules", notice: "firewall_rule_added"
            ) {
                _ = try await security.addFirewallRule(draft, to: domain)
            }
        }
        dashboard.post("domains/:id/security/firewall-rules/:rule_id/delete") { _, context in
            let identity = try context.requirePage()
            let domain = try await domains.domain(in: context)
            try await security.deleteFirewallRule(try context.parameters.uuid("rule_id", what: "Firewall rule"), of: domain)
            return Response.redirect(
                to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())/security?notice=firewall_rule_deleted#firewall-rules")
        }
    }

    /// Runs a form's change; a validation error shows the page again with the message by its form.
    private func attempt(
        _ identity: Identity, _ domain: Domain, request: Request, form: FormData, section: String, notice: String,
        _ change: () async throws -> Void
    ) async throws -> Response {
        do {
            try await change()
            return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())/security?notice=\(notice)#\(section)")
        } catch let error as APIError {
            return try await FormError.$field.withValue(error.field) {
                try await securityPage(identity, domain, request: request, status: error.status, errors: [section: error.detail])
            }
        }
    }

    static func items(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0.isNewline || $0 == " " }).map(String.init).filter { !$0.isEmpty }
    }

    func scope(_ identity: Identity, _ request: Request) async throws -> [Domain] {
        guard let text = request.uri.queryParameters["domain_id"], !text.isEmpty else {
            return try await security.scope(identity.user, domain: nil)
        }
        guard let id = UUID(uuidString: String(text)) else { throw APIError.validation("domain_id", "must be a UUID") }
        return [try await domains.domain(id, of: identity.user)]
    }

    private func ddosPage(_ identity: Identity, request: Request) async throws -> Response {
        let all = try await security.scope(identity.user, domain: nil)
        let selected = request.uri.queryParameters["domain_id"].map(String.init)?.lowercased() ?? ""
        let covered = try await scope(identity, request)
        let overview = try await security.overview(of: covered)
        let chart = TrafficChart(
            starts: overview.traffic.map(\.start),
            series: [
                .init(label: "Total", style: "requests", values: overview.traffic.map(\.total)),
                .init(label: "Blocked", style: "blocked", values: overview.traffic.map(\.blocked)),
                .init(label: "Challenged", style: "challenged", values: overview.traffic.map(\.challenged)),
            ], bucketSeconds: 3600)
        let refused = max(1, overview.mitigationMethods.values.reduce(0, +))
        let labels = [
            "http_flood": "HTTP flood", "slowloris": "Slowloris", "syn_flood": "SYN flood", "dns_amplification": "DNS amplification",
            "rate_limiting": "Rate limiting", "js_challenge": "JS challenge", "ip_blacklist": "IP blacklist", "geoip_block": "GeoIP block",
            "waf_rules": "WAF rules", "connection_limits": "Connection limits",
        ]
        var values: [String: Any] = [
            "scope": selected,
            "domains": all.map { domain in
                [
                    "id": domain.id!.uuidString.lowercased(), "name": domain.name,
                    "selected": domain.id!.uuidString.lowercased() == selected,
                    "underAttack": domain.underAttack,
                ] as [String: Any]
            },
            "requestsPerSecond": String(format: "%.1f", overview.requestsPerSecond),
            "requests": overview.requests,
            "bandwidth": ByteCountFormatter.string(fromByteCount: overview.bandwidthBytes, countStyle: .binary),
            "blocked": overview.blocked, "challenged": overview.challenged,
            "hitRate": String(format: "%.1f %%", overview.cacheHitRate * 100), "threatScore": overview.threatScore,
            "threatClass": overview.threatScore >= 60 ? "threat-high" : overview.threatScore >= 25 ? "threat-medium" : "threat-low",
            "chart": chart.svg(), "quiet": overview.requests == 0,
            "attackTypes": SecurityService.attackTypes.map { ["label": labels[$0] ?? $0, "count": overview.attackTypes[$0] ?? 0] },
            "mitigations": SecurityService.mitigationMethods.map { key -> [String: Any] in
                let count = overview.mitigationMethods[key] ?? 0
                return ["label": labels[key] ?? key, "count": count, "percent": Int(Double(count) / Double(refused) * 100)]
            },
            "countries": overview.topCountries.map { ["country": $0.country, "requests": $0.requests] },
            "hasCountries": !overview.topCountries.isEmpty,
            "attacks": overview.recentAttacks.map { attack -> [String: Any] in
                [
                    "type": labels[attack.type] ?? attack.type, "domain": attack.domain ?? "—", "severity": attack.severity,
                    "peakRps": attack.peakRps, "sources": attack.sourceIps.prefix(5).joined(separator: ", "),
                    "countries": attack.sourceCountries.joined(separator: ", "), "status": attack.status,
                    "mitigation": labels[attack.mitigation] ?? attack.mitigation, "started": DashboardRenderer.format(attack.startedAt),
                ]
            },
            "hasAttacks": !overview.recentAttacks.isEmpty,
        ]
        values.merge(renderer.notice(request)) { $1 }
        return renderer.page("ddos", title: "DDoS Protection", identity: identity, active: "ddos", values)
    }

    private func securityPage(
        _ identity: Identity, _ domain: Domain, request: Request, status: HTTPResponse.Status = .ok, errors: [String: String] = [:]
    ) async throws -> Response {
        let row = try await security.settings(of: domain)
        var values: [String: Any] = [
            "domainID": domain.id!.uuidString.lowercased(), "name": domain.name, "underAttack": domain.underAttack,
            "ipAllow": row.ipAllow.joined(separator: "\n"), "ipBlock": row.ipBlock.joined(separator: "\n"),
            "countryAllow": row.countryAllow.joined(separator: ", "), "countryBlock": row.countryBlock.joined(separator: ", "),
            "clearanceMinutes": row.clearanceMinutes,
            "sensitivities": WAFSensitivity.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == row.wafSensitivity] },
            "rateLimits": row.rateLimits.map { rule -> [String: Any] in
                [
                    "id": rule.id.uuidString.lowercased(), "path": rule.path ?? "every path", "requests": rule.requests,
                    "period": rule.period,
                    "action": rule.action, "duration": rule.duration,
                ]
            },
            "hasRateLimits": !row.rateLimits.isEmpty,
            "firewallRules": row.firewallRules.enumerated().map { index, rule -> [String: Any] in
                [
                    "id": rule.id.uuidString.lowercased(), "position": index + 1, "field": rule.field, "operator": rule.operator,
                    "value": rule.value, "action": rule.action,
                ]
            },
            "hasFirewallRules": !row.firewallRules.isEmpty,
            "sanctioned": settings.sanctionedCountries.joined(separator: ", "),
        ]
        for (section, message) in errors {
            values[section.replacingOccurrences(of: "-", with: "") + "Error"] = message
        }
        values.merge(renderer.notice(request)) { $1 }
        return renderer.page(
            "security", title: "Security · \(domain.name)", identity: identity, active: "domains", status: status, values)
    }
}
