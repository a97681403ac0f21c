import Foundation

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
                query: [("domain_id", ["type": "string", "format": "uuid"], "One of your domains (all of them when absent)")]),
            Operation(
                method: "get", path: "/api/v1/ddos/live", summary: "Live traffic: rates over the last minute, threat score, active attacks",
                tag: "DDoS", access: .user, responses: [(200, "DDoSLive"), (404, "Error"), (422, "Error")],
                query: [("domain_id", ["type": "string", "format": "uuid"], "One of your domains (all of them when absent)")]),
            Operation(
                method: "get", path: "/api/v1/ddos/attacks", summary: "Attack history, newest first", tag: "DDoS", access: .user,
                responses: [(200, "AttackList"), (404, "Error"), (422, "Error")],
                query: page + [
                    ("domain_id", ["type": "string", "format": "uuid"], "One of your domains (all of them when absent)"),
                    ("status", ["type": "string", "enum": ["active", "mitigated"]], "Only active or only ended attacks"),
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
}
