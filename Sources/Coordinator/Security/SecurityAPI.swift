import Foundation
import OpenAPIKit

/// Firewall settings and DDoS reports (§9).
extension OpenAPIDocument {
    static var securityOperations: [Operation] {
        [
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/security",
                summary: "The domain's firewall: IP and country lists, WAF sensitivity, clearance time, rate limits, custom rules",
                tag: "Security", access: .user, responses: [(200, "Security"), (404, "Error")]),
            Operation(
                method: "patch", path: "/api/v1/cdn/domains/{id}/security",
                summary: "Change the firewall's lists, WAF sensitivity (off, low, medium, high), clearance minutes or Under Attack Mode",
                tag: "Security", access: .user, body: "SecurityDraft", responses: [(200, "Security"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/security/rate-limits",
                summary: "Add a rate limit: requests per period per visitor address on matching paths, then block (429) or challenge",
                tag: "Security", access: .user, body: "RateLimitDraft",
                responses: [(201, "RateLimit"), (403, "Error"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "delete", path: "/api/v1/cdn/domains/{id}/security/rate-limits/{rule_id}", summary: "Delete a rate limit",
                tag: "Security", access: .user, responses: [(204, nil), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/security/firewall-rules",
                summary: "Add a custom rule: field, operator and value, then block, challenge, log or allow", tag: "Security",
                access: .user, body: "FirewallRuleDraft",
                responses: [(201, "FirewallRule"), (403, "Error"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "delete", path: "/api/v1/cdn/domains/{id}/security/firewall-rules/{rule_id}", summary: "Delete a custom rule",
                tag: "Security", access: .user, responses: [(204, nil), (404, "Error")]),
            Operation(
                method: "get", path: "/api/v1/ddos/overview",
                summary:
                    "Protection overview, last 24 hours: requests, bandwidth, blocked, challenged, cache hit rate, threat score, hourly chart, attack types, mitigation methods, top countries, recent attacks",
                tag: "DDoS", access: .user, responses: [(200, "DDoSOverview"), (404, "Error"), (422, "Error")],
                query: [("domain_id", .string(format: .uuid), "One of your domains (all of them when absent)")]),
            Operation(
                method: "get", path: "/api/v1/ddos/live", summary: "Live traffic: rates over the last minute, threat score, active attacks",
                tag: "DDoS", access: .user, responses: [(200, "DDoSLive"), (404, "Error"), (422, "Error")],
                query: [("domain_id", .string(format: .uuid), "One of your domains (all of them when absent)")]),
            Operation(
                method: "get", path: "/api/v1/ddos/attacks", summary: "Attack history, newest first", tag: "DDoS", access: .user,
                responses: [(200, "AttackList"), (404, "Error"), (422, "Error")],
                query: page + [
                    ("domain_id", .string(format: .uuid), "One of your domains (all of them when absent)"),
                    ("status", .string(allowedValues: ["active", "mitigated"]), "Only active or only ended attacks"),
                ]),
            Operation(
                method: "post", path: "/api/v1/ddos/under-attack",
                summary: "Turn Under Attack Mode on or off: {\"domain_name\" or \"domain_id\", \"enabled\"}", tag: "DDoS", access: .user,
                body: "UnderAttackRequest", responses: [(200, "UnderAttack"), (404, "Error"), (422, "Error")]),
        ]
    }
}

extension SecurityArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.securityOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.securitySchemas }
}

extension OpenAPIDocument {
    static var securitySchemas: [String: JSONSchema] {
        [
            "Security": object(
                [
                    "domain": string, "under_attack": boolean, "ip_allow": strings, "ip_block": strings, "country_allow": strings,
                    "country_block": strings, "waf_sensitivity": .string(allowedValues: ["off", "low", "medium", "high"]),
                    "clearance_minutes": integer, "rate_limits": .array(items: ref("RateLimit")),
                    "firewall_rules": .array(items: ref("FirewallRule")), "sanctioned_countries": strings,
                    "updated_at": string,
                ], required: ["domain", "under_attack", "waf_sensitivity", "rate_limits", "firewall_rules"]),
            "SecurityDraft": object(
                [
                    "ip_allow": strings, "ip_block": strings, "country_allow": strings, "country_block": strings,
                    "waf_sensitivity": string, "clearance_minutes": integer, "under_attack": boolean,
                ], required: []),
            "RateLimit": object(
                [
                    "id": string, "path": string, "requests": integer, "period": integer,
                    "action": .string(allowedValues: ["block", "challenge"]), "duration": integer,
                ], required: ["id", "requests", "period", "action", "duration"]),
            "RateLimitDraft": object(
                ["path": string, "requests": integer, "period": integer, "action": string, "duration": integer],
                required: ["requests", "period"]),
            "FirewallRule": object(
                [
                    "id": string, "field": string, "operator": string, "value": string,
                    "action": .string(allowedValues: ["block", "challenge", "log", "allow"]),
                ], required: ["id", "field", "operator", "value", "action"]),
            "FirewallRuleDraft": object(
                ["field": string, "operator": string, "value": string, "action": string, "position": integer],
                required: ["field", "operator", "value"]),
            "Attack": object(
                [
                    "id": string, "domain": string, "type": .string(allowedValues: ["http_flood", "slowloris"]),
                    "severity": .string(allowedValues: ["low", "medium", "high", "critical"]), "peak_rps": integer,
                    "requests": integer, "source_ips": strings, "source_countries": strings, "mitigation": string,
                    "status": .string(allowedValues: ["active", "mitigated"]), "started_at": string, "ended_at": string,
                    "nodes": strings,
                ], required: ["id", "type", "severity", "peak_rps", "status", "started_at"]),
            "AttackList": list("attacks", of: "Attack"),
            "DDoSOverview": object(
                [
                    "protection": string, "period": string, "domains": integer, "under_attack_domains": strings, "requests": integer,
                    "bandwidth_bytes": integer, "blocked": integer, "challenged": integer, "cache_hit_rate": number,
                    "requests_per_second": number, "threat_score": integer,
                    "traffic": .array(
                        items: object(
                            ["start": string, "total": integer, "blocked": integer, "challenged": integer],
                            required: ["start", "total", "blocked", "challenged"])),
                    "attack_types": .object(additionalProperties: .b(integer)),
                    "mitigation_methods": .object(additionalProperties: .b(integer)),
                    "top_countries": .array(items: object(["country": string, "requests": integer], required: ["country", "requests"])),
                    "recent_attacks": .array(items: ref("Attack")),
                ], required: ["requests", "blocked", "challenged", "threat_score", "traffic"]),
            "DDoSLive": object(
                [
                    "window_seconds": integer, "requests_per_second": number, "bandwidth_bps": number, "blocked_per_second": number,
                    "challenged_per_second": number, "cache_hit_rate": number, "threat_score": integer, "active_attacks": integer,
                    "at": string,
                ], required: ["requests_per_second", "threat_score", "active_attacks"]),
            "UnderAttackRequest": object(["domain_name": string, "domain_id": string, "enabled": boolean], required: ["enabled"]),
            "UnderAttack": object(
                ["domain": string, "domain_id": string, "under_attack": boolean, "message": string],
                required: ["domain", "domain_id", "under_attack"]),
        ]
    }
}
