import DCDNCore
import Foundation
import Hummingbird
import NodeProtocol

/// `/cdn/domains/{id}/security` (a domain's firewall) and the guide's `/ddos/*` (§9, §15).
struct SecurityController {
    let domains: DomainService
    let security: SecurityService
    let settings: DCDNSettings

    struct SettingsResponse: ResponseCodable {
        var domain: String
        var underAttack: Bool
        var ipAllow: [String]
        var ipBlock: [String]
        var countryAllow: [String]
        var countryBlock: [String]
        var wafSensitivity: String
        var clearanceMinutes: Int
        var rateLimits: [RateLimitRuleConfig]
        var firewallRules: [FirewallRuleConfig]
        /// The network's list, blocked for every domain (operators edit it).
        var sanctionedCountries: [String]
        var updatedAt: Date?
    }

    struct UnderAttackRequest: Decodable {
        var domainName: String?
        var domainId: UUID?
        var enabled: Bool?
    }

    struct UnderAttackResponse: ResponseCodable {
        var domain: String
        var domainId: UUID
        var underAttack: Bool
        var message: String
    }

    struct AttackList: ResponseCodable {
        var attacks: [SecurityService.AttackResponse]
        var total: Int
    }

    func response(_ row: DomainSecurity, domain: Domain) -> SettingsResponse {
        SettingsResponse(
            domain: domain.name, underAttack: domain.underAttack, ipAllow: row.ipAllow, ipBlock: row.ipBlock,
            countryAllow: row.countryAllow,
            countryBlock: row.countryBlock, wafSensitivity: row.wafSensitivity, clearanceMinutes: row.clearanceMinutes,
            rateLimits: row.rateLimits, firewallRules: row.firewallRules, sanctionedCountries: settings.sanctionedCountries,
            updatedAt: row.updatedAt)
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("cdn/domains")
        group.get(":id/security") { _, context -> SettingsResponse in
            let domain = try await domain(context)
            return response(try await security.settings(of: domain), domain: domain)
        }
        group.patch(":id/security") { request, context -> SettingsResponse in
            let domain = try await domain(context)
            let draft = try await request.decode(as: SecurityService.SettingsDraft.self, context: context)
            return response(try await security.update(domain, with: draft), domain: domain)
        }
        group.post(":id/security/rate-limits") { request, context -> EditedResponse<RateLimitRuleConfig> in
            let draft = try await request.decode(as: SecurityService.RateLimitDraft.self, context: context)
            return EditedResponse(status: .created, response: try await security.addRateLimit(draft, to: try await domain(context)))
        }
        group.delete(":id/security/rate-limits/:rule_id") { _, context -> HTTPResponse.Status in
            try await security.deleteRateLimit(try context.parameters.uuid("rule_id", what: "Rate limit"), of: try await domain(context))
            return .noContent
        }
        group.post(":id/security/firewall-rules") { request, context -> EditedResponse<FirewallRuleConfig> in
            let draft = try await request.decode(as: SecurityService.FirewallRuleDraft.self, context: context)
            return EditedResponse(status: .created, response: try await security.addFirewallRule(draft, to: try await domain(context)))
        }
        group.delete(":id/security/firewall-rules/:rule_id") { _, context -> HTTPResponse.Status in
            try await security.deleteFirewallRule(
                try context.parameters.uuid("rule_id", what: "Firewall rule"), of: try await domain(context))
            return .noContent
        }

        let ddos = api.group("ddos")
        ddos.get("overview") { request, context -> SecurityService.Overview in
            try await security.overview(of: try await scope(request, context))
        }
        ddos.get("live") { request, context -> SecurityService.Live in
            try await security.live(of: try await scope(request, context))
        }
        ddos.get("attacks") { request, context -> AttackList in
            let status = request.uri.queryParameters["status"].map(String.init)
            if let status, status != "active", status != "mitigated" {
                throw APIError.validation("status", "must be active or mitigated")
            }
            let (attacks, total) = try await security.attacks(
                of: try await scope(request, context), status: status, page: try Page(request))
            return AttackList(attacks: attacks.map(SecurityService.AttackResponse.init), total: total)
        }
        ddos.post("under-attack") { request, context -> UnderAttackResponse in
            let body = try await request.decode(as: UnderAttackRequest.self, context: context)
            let user = try context.requireIdentity().user
            let domain: Domain
            if let id = body.domainId {
                domain = try await domains.domain(id, of: user)
            } else if let name = body.domainName, !name.isEmpty {
                domain = try await domains.domain(named: name, of: user)
            } else {
                throw APIError.validation("domain_name", "domain_name or domain_id is required")
            }
            guard let enabled = body.enabled else { throw APIError.validation("enabled", "is required (true or false)") }
            try await security.setUnderAttack(domain, enabled: enabled)
            return UnderAttackResponse(
                domain: domain.name, domainId: domain.id!, underAttack: enabled,
                message: enabled
                    ? "Under Attack Mode is on: every visitor to \(domain.name) gets a JavaScript challenge first."
                    : "Under Attack Mode is off for \(domain.name).")
        }
    }

    /// `?domain_id=` narrows a `/ddos` view to one of the user's domains.
    func scope(_ request: Request, _ context: AppRequestContext) async throws -> [Domain] {
        let user = try context.requireIdentity().user
        guard let text = request.uri.queryParameters["domain_id"] else { return try await security.scope(user, domain: nil) }
        guard let id = UUID(uuidString: String(text)) else { throw APIError.validation("domain_id", "must be a UUID") }
        return [try await domains.domain(id, of: user)]
    }

    func domain(_ context: AppRequestContext) async throws -> Domain {
        try await domains.domain(in: context)
    }
}

extension RateLimitRuleConfig: ResponseEncodable {}
extension FirewallRuleConfig: ResponseEncodable {}
extension SecurityService.Overview: ResponseCodable {}
extension SecurityService.Live: ResponseCodable {}
