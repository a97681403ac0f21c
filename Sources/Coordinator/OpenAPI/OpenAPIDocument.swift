import DCDNCore
import Foundation
import NodeProtocol

/// The OpenAPI 3.1 description of every API and operability route, served at
/// `/api/v1/openapi.json`. Written by hand next to the routes; a test compares it with the
/// router so that neither can gain a route the other lacks.
public enum OpenAPIDocument {
    enum Access { case publicRoute, user, admin, node }

    struct Operation {
        var method: String
        var path: String
        var summary: String
        var tag: String
        var access: Access
        var body: String? = nil
        var responses: [(Int, String?)]
        var query: [(name: String, schema: [String: Any], description: String)] = []
        /// Takes an `Idempotency-Key` header (money calls).
        var idempotent = false
    }

    static var page: [(name: String, schema: [String: Any], description: String)] {
        [
            ("limit", ["type": "integer", "minimum": 1, "maximum": 500, "default": 50], "Items per page"),
            ("offset", ["type": "integer", "minimum": 0, "default": 0], "Items to skip"),
        ]
    }

    static func operations(isDev: Bool) -> [Operation] {
        var operations: [Operation] = [
            Operation(
                method: "get", path: "/healthz", summary: "Liveness: the process answers", tag: "Operations", access: .publicRoute,
                responses: [(200, "Status")]),
            Operation(
                method: "get", path: "/readyz", summary: "Readiness: the database answers", tag: "Operations", access: .publicRoute,
                responses: [(200, "Status"), (503, "Status")]),
            Operation(
                method: "get", path: "/metrics", summary: "Prometheus metrics (text exposition format)", tag: "Operations",
                access: .publicRoute, responses: [(200, nil)]),
            Operation(
                method: "get", path: "/api/v1/openapi.json", summary: "This document", tag: "Operations", access: .publicRoute,
                responses: [(200, nil)]),
            Operation(
                method: "post", path: "/api/v1/auth/register", summary: "Register with email and password (3 per 10 min per IP)",
                tag: "Auth", access: .publicRoute, body: "RegisterRequest",
                responses: [(201, "RegisterResponse"), (409, "Error"), (422, "Error"), (429, "Error")]),
            Operation(
                method: "post", path: "/api/v1/auth/login", summary: "Sign in: returns a JWT (3 per 10 min per IP)", tag: "Auth",
                access: .publicRoute, body: "LoginRequest",
                responses: [(200, "LoginResponse"), (401, "Error"), (403, "Error"), (429, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/verify-email", summary: "Verify an email address with the mailed token", tag: "Auth",
                access: .publicRoute, responses: [(200, "VerifyResponse"), (400, "Error")],
                query: [("token", ["type": "string"], "Token from the verification mail")]),
            Operation(
                method: "post", path: "/api/v1/auth/resend-verification", summary: "Mail a new verification link", tag: "Auth",
                access: .publicRoute, body: "EmailRequest", responses: [(202, "Detail"), (429, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/providers", summary: "Sign-in methods this installation offers", tag: "Auth",
                access: .publicRoute, responses: [(200, "Providers")]),
            Operation(
                method: "get", path: "/api/v1/auth/oidc/start", summary: "Start OpenID Connect sign-in (redirects to the provider)",
                tag: "Auth", access: .publicRoute, responses: [(302, nil), (404, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/oidc/callback",
                summary: "Provider redirect target: finishes sign-in, sets the session cookie", tag: "Auth", access: .publicRoute,
                responses: [(303, nil)],
                query: [("code", ["type": "string"], "Authorization code"), ("state", ["type": "string"], "State from the start")]),
            Operation(
                method: "get", path: "/api/v1/auth/me", summary: "The signed-in user", tag: "Auth", access: .user,
                responses: [(200, "User")]),
            Operation(
                method: "post", path: "/api/v1/auth/password",
                summary: "Change password (signs out other sessions, invalidates older JWTs)", tag: "Auth", access: .user,
                body: "PasswordChange", responses: [(200, "LoginResponse"), (403, "Error"), (422, "Error")]),
            Operation(
                method: "post", path: "/api/v1/auth/tokens", summary: "Create a named API token (shown once)", tag: "Auth", access: .user,
                body: "TokenRequest", responses: [(201, "Token"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/auth/tokens", summary: "List your API tokens", tag: "Auth", access: .user,
                responses: [(200, "TokenList")]),
            Operation(
                method: "delete", path: "/api/v1/auth/tokens/{id}", summary: "Revoke an API token", tag: "Auth", access: .user,
                responses: [(204, nil), (404, "Error")]),
            Operation(
                method: "get", path: "/api/v1/plans", summary: "Plans and their limits (null = unlimited)", tag: "Plans",
                access: .publicRoute, responses: [(200, "PlanList")]),
            Operation(
                method: "get", path: "/api/v1/account/limits", summary: "Your plan, its limits and your usage", tag: "Plans", access: .user,
                responses: [(200, "LimitsResponse")]),
            Operation(
                method: "get", path: "/api/v1/admin/users", summary: "List users (admin)", tag: "Admin", access: .admin,
                responses: [(200, "UserList")], query: page + [("q", ["type": "string"], "Email contains")]),
            Operation(
                method: "patch", path: "/api/v1/admin/users/{id}", summary: "Change a user's role or plan (admin)", tag: "Admin",
                access: .admin, body: "UserChange", responses: [(200, "User"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "patch", path: "/api/v1/admin/plans/{id}", summary: "Edit a plan's name, price and limits (admin)", tag: "Admin",
                access: .admin, body: "PlanChange", responses: [(200, "Plan"), (404, "Error"), (422, "Error")]),
        ]
        operations += [
            Operation(
                method: "post", path: "/api/v1/cdn/domains", summary: "Add a domain (creates its apex and www records, proxied)",
                tag: "Domains", access: .user, body: "NewDomain",
                responses: [(201, "Domain"), (403, "Error"), (409, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/cdn/domains", summary: "List your domains", tag: "Domains", access: .user,
                responses: [(200, "DomainList")], query: page),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}", summary: "A domain with the nameservers to set", tag: "Domains",
                access: .user, responses: [(200, "Domain"), (404, "Error")]),
            Operation(
                method: "patch", path: "/api/v1/cdn/domains/{id}", summary: "Update domain settings", tag: "Domains", access: .user,
                body: "DomainSettings", responses: [(200, "Domain"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "delete", path: "/api/v1/cdn/domains/{id}", summary: "Remove a domain and its records", tag: "Domains",
                access: .user, responses: [(204, nil), (404, "Error")]),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/records", summary: "List DNS records", tag: "DNS", access: .user,
                responses: [(200, "RecordList")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/records", summary: "Add a DNS record", tag: "DNS", access: .user,
                body: "RecordDraft", responses: [(201, "Record"), (409, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/records/{record_id}", summary: "A DNS record", tag: "DNS", access: .user,
                responses: [(200, "Record"), (404, "Error")]),
            Operation(
                method: "patch", path: "/api/v1/cdn/domains/{id}/records/{record_id}", summary: "Change a DNS record (e.g. toggle proxied)",
                tag: "DNS", access: .user, body: "RecordDraft", responses: [(200, "Record"), (409, "Error"), (422, "Error")]),
            Operation(
                method: "delete", path: "/api/v1/cdn/domains/{id}/records/{record_id}", summary: "Delete a DNS record", tag: "DNS",
                access: .user, responses: [(204, nil), (404, "Error")]),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/zone", summary: "Export the zone as a BIND zone file (text/dns)", tag: "DNS",
                access: .user, responses: [(200, nil)]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/zone",
                summary: "Import a BIND zone file (text/plain body, or JSON {zone, replace})", tag: "DNS", access: .user,
                body: "ZoneImport", responses: [(200, "ZoneImportResult"), (413, "Error")]),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/page-rules", summary: "List page rules in the order they are tried",
                tag: "Caching", access: .user, responses: [(200, "PageRuleList"), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/page-rules", summary: "Add a page rule (appended unless position is given)",
                tag: "Caching", access: .user, body: "PageRuleDraft", responses: [(201, "PageRule"), (403, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/page-rules/{rule_id}", summary: "A page rule", tag: "Caching",
                access: .user, responses: [(200, "PageRule"), (404, "Error")]),
            Operation(
                method: "patch", path: "/api/v1/cdn/domains/{id}/page-rules/{rule_id}", summary: "Change or move a page rule",
                tag: "Caching", access: .user, body: "PageRuleDraft", responses: [(200, "PageRule"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "delete", path: "/api/v1/cdn/domains/{id}/page-rules/{rule_id}", summary: "Delete a page rule", tag: "Caching",
                access: .user, responses: [(204, nil), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/purge",
                summary: "Purge cached content: everything, URLs, URL prefixes or Cache-Tag tags (one of them)", tag: "Caching",
                access: .user, body: "PurgeDraft", responses: [(202, "Purge"), (404, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/certificate",
                summary: "The domain's TLS certificate: status, names, expiry, next attempt, last error in plain words", tag: "SSL/TLS",
                access: .user, responses: [(200, "Certificate"), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/certificate",
                summary: "Issue the certificate now ({\"wildcard\": true} for apex + *. through DNS-01)", tag: "SSL/TLS", access: .user,
                body: "CertificateRequest", responses: [(202, "Certificate"), (404, "Error"), (409, "Error")]),
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
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/purges", summary: "Recent purges and how many edge nodes have run them",
                tag: "Caching", access: .user, responses: [(200, "PurgeList"), (404, "Error")], query: page),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/analytics",
                summary: "Traffic by time bucket: requests, bytes, cache hits, statuses",
                tag: "Analytics", access: .user, responses: [(200, "Analytics"), (404, "Error"), (422, "Error")],
                query: [
                    (
                        "period", ["type": "string", "enum": ["1h", "24h", "7d", "30d"], "default": "24h"],
                        "Time span; buckets are 1 min, 1 h, 6 h, 1 day"
                    )
                ]),
            Operation(
                method: "post", path: "/api/v1/node-api/register", summary: "A node announces its role and addresses (node token)",
                tag: "Node API", access: .node, body: "NodeRegistration", responses: [(200, nil), (401, "Error"), (403, "Error")]),
            Operation(
                method: "get", path: "/api/v1/node-api/config",
                summary: "Long-poll the configuration snapshot or delta of the node's roles (304 when unchanged)", tag: "Node API",
                access: .node, responses: [(200, "NodeConfig"), (304, nil), (403, "Error"), (422, "Error")],
                query: [
                    ("role", ["type": "string", "enum": ["edge", "dns", "mail"]], "Only this role's section (one the node was given)"),
                    ("since", ["type": "integer"], "Version the node has"),
                    ("wait", ["type": "integer", "maximum": 60], "Seconds to wait for a change"),
                ]),
            Operation(
                method: "post", path: "/api/v1/node-api/report", summary: "Heartbeat with counters of the last window", tag: "Node API",
                access: .node, body: "NodeReport", responses: [(204, nil)]),
            Operation(
                method: "post", path: "/api/v1/admin/nodes", summary: "Register a node operator's machine; returns its token once (admin)",
                tag: "Admin", access: .admin, body: "NodeDraft", responses: [(201, "Node"), (409, "Error"), (422, "Error")]),
            Operation(
                method: "get", path: "/api/v1/admin/nodes", summary: "Nodes with their health (admin)", tag: "Admin", access: .admin,
                responses: [(200, "NodeList")]),
            Operation(
                method: "patch", path: "/api/v1/admin/nodes/{id}", summary: "Change a node (admin)", tag: "Admin", access: .admin,
                body: "NodeDraft", responses: [(200, "Node"), (404, "Error")]),
            Operation(
                method: "delete", path: "/api/v1/admin/nodes/{id}", summary: "Remove a node (admin)", tag: "Admin", access: .admin,
                responses: [(204, nil), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/admin/nodes/{id}/token", summary: "Issue a new token for a node, revoking the old (admin)",
                tag: "Admin", access: .admin, responses: [(200, "Node")]),
        ]
        for prefix in ["/api/v1/content_moderation", "/api/v1/high-availability"] {
            operations += [
                Operation(
                    method: "get", path: "\(prefix)/features", summary: "High-availability features (public)", tag: "High availability",
                    access: .publicRoute, responses: [(200, nil)]),
                Operation(
                    method: "post", path: "\(prefix)/enable", summary: "Enable multi-node redundancy and DNS fallback for a domain",
                    tag: "High availability", access: .user, body: "HAEnable", responses: [(200, "HAStatus"), (404, "Error")]),
                Operation(
                    method: "get", path: "\(prefix)/status/{domain}", summary: "High-availability status of a domain",
                    tag: "High availability", access: .user, responses: [(200, "HAStatus"), (404, "Error")]),
            ]
        }
        // The image endpoint (product guide §4); every edge node serves it on proxied domains too.
        let imageQuery: [(name: String, schema: [String: Any], description: String)] = [
            ("url", ["type": "string", "format": "uri"], "Source image URL, http or https (required in the query form)"),
            ("w", ["type": "integer", "minimum": 1, "maximum": 4096], "Width in pixels (default: the source's)"),
            ("h", ["type": "integer", "minimum": 1, "maximum": 4096], "Height in pixels (default: the source's)"),
            (
                "f", ["type": "string", "enum": ["auto", "webp", "avif", "jpeg", "png"], "default": "auto"],
                "Output format; auto follows Accept"
            ),
            ("q", ["type": "integer", "minimum": 1, "maximum": 100, "default": 80], "Quality"),
            ("fit", ["type": "string", "enum": ["cover", "contain", "fill", "inside"], "default": "cover"], "How the image meets w×h"),
        ]
        let imageResponses: [(Int, String?)] = [
            (200, nil), (304, nil), (400, "Error"), (413, "Error"), (415, "Error"), (422, "Error"), (502, "Error"), (504, "Error"),
        ]
        for method in ["get", "head"] {
            operations += [
                Operation(
                    method: method, path: "/cdn-cgi/image", summary: "Resize, convert and optimise an image (public; cached 7 days)",
                    tag: "Images", access: .publicRoute, responses: imageResponses, query: imageQuery),
                Operation(
                    method: method, path: "/cdn-cgi/image/{path}",
                    summary: "Cloudflare's path form: /cdn-cgi/image/w=800,f=auto/<source URL or path> (public)", tag: "Images",
                    access: .publicRoute, responses: imageResponses),
            ]
        }
        if isDev {
            // dcdn dev's certificate authority (RFC 8555); requests are JWS-signed (application/jose+json).
            operations += [
                Operation(
                    method: "get", path: "/dev-acme/directory", summary: "Dev CA: ACME directory (dev mode only)", tag: "Development",
                    access: .publicRoute, responses: [(200, nil)]),
                Operation(
                    method: "get", path: "/dev-acme/renewal-info/{id}", summary: "Dev CA: ACME Renewal Information (RFC 9773)",
                    tag: "Development", access: .publicRoute, responses: [(200, nil), (404, nil)]),
                Operation(
                    method: "head", path: "/dev-acme/new-nonce", summary: "Dev CA: a replay nonce", tag: "Development",
                    access: .publicRoute, responses: [(200, nil)]),
                Operation(
                    method: "get", path: "/dev-acme/new-nonce", summary: "Dev CA: a replay nonce", tag: "Development",
                    access: .publicRoute, responses: [(204, nil)]),
                Operation(
                    method: "post", path: "/dev-acme/{kind}", summary: "Dev CA: new-account, new-order", tag: "Development",
                    access: .publicRoute, responses: [(200, nil), (201, nil), (400, nil)]),
                Operation(
                    method: "post", path: "/dev-acme/{kind}/{id}", summary: "Dev CA: order, authz, challenge, finalize, certificate",
                    tag: "Development", access: .publicRoute, responses: [(200, nil), (400, nil), (404, nil)]),
            ]
            operations.append(
                Operation(
                    method: "get", path: "/api/v1/dev/outbox", summary: "Mail kept by dcdn dev instead of sent (dev mode only)",
                    tag: "Development", access: .publicRoute, responses: [(200, "OutboxList")],
                    query: page + [("to", ["type": "string"], "Only mail to this address")]))
        }
        operations += moneyOperations
        return operations
    }

    static var domainSettings: [String: Any] {
        [
            "origin": string, "ssl_mode": ["type": "string", "enum": ["off", "flexible", "full", "strict"]],
            "cache_level": ["type": "string", "enum": ["standard", "aggressive", "bypass"]],
            "browser_ttl": ["type": "integer", "minimum": 3600, "maximum": 31_536_000],
            "edge_ttl": ["type": "integer", "minimum": 3600, "maximum": 2_592_000],
            "dev_mode": ["type": "boolean", "description": "true: bypass caching for 3 hours"], "under_attack": boolean,
            "multi_node_redundancy": boolean, "dns_fallback": boolean,
        ]
    }

    static func object(_ properties: [String: Any], required: [String] = []) -> [String: Any] {
        ["type": "object", "properties": properties, "required": required]
    }
    static var string: [String: Any] { ["type": "string"] }
    static var uuid: [String: Any] { ["type": "string", "format": "uuid"] }
    static var time: [String: Any] { ["type": "string", "format": "date-time"] }
    static var boolean: [String: Any] { ["type": "boolean"] }
    static var integer: [String: Any] { ["type": "integer"] }
    static var number: [String: Any] { ["type": "number"] }
    static var strings: [String: Any] { ["type": "array", "items": ["type": "string"]] }
    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }
    static func list(_ key: String, of item: String) -> [String: Any] {
        object([key: ["type": "array", "items": ref(item)], "total": ["type": "integer"]], required: [key, "total"])
    }

    static var schemas: [String: Any] {
        let limits: [String: Any] = [
            "type": "object",
            "properties": Dictionary(
                uniqueKeysWithValues: PlanLimit.allCases.map {
                    ($0.rawValue, ["type": ["integer", "null"], "description": $0.title] as [String: Any])
                }),
        ]
        let core: [String: Any] = [
            "Error": object(["detail": string, "code": string, "field": string], required: ["detail", "code"]),
            "Certificate": object(
                [
                    "status": ["type": "string", "enum": ["pending", "issued", "failed"]], "names": ["type": "array", "items": string],
                    "wildcard": boolean, "issued_at": string, "expires_at": string, "next_attempt_at": string,
                    "attempts": ["type": "integer"],
                    "last_error": string, "ca_directory": string,
                ], required: ["status", "names", "wildcard", "attempts"]),
            "CertificateRequest": object(["wildcard": boolean], required: []),
            "Security": object(
                [
                    "domain": string, "under_attack": boolean, "ip_allow": strings, "ip_block": strings, "country_allow": strings,
                    "country_block": strings, "waf_sensitivity": ["type": "string", "enum": ["off", "low", "medium", "high"]],
                    "clearance_minutes": integer, "rate_limits": ["type": "array", "items": ref("RateLimit")],
                    "firewall_rules": ["type": "array", "items": ref("FirewallRule")], "sanctioned_countries": strings,
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
                    "action": ["type": "string", "enum": ["block", "challenge"]], "duration": integer,
                ], required: ["id", "requests", "period", "action", "duration"]),
            "RateLimitDraft": object(
                ["path": string, "requests": integer, "period": integer, "action": string, "duration": integer],
                required: ["requests", "period"]),
            "FirewallRule": object(
                [
                    "id": string, "field": string, "operator": string, "value": string,
                    "action": ["type": "string", "enum": ["block", "challenge", "log", "allow"]],
                ], required: ["id", "field", "operator", "value", "action"]),
            "FirewallRuleDraft": object(
                ["field": string, "operator": string, "value": string, "action": string, "position": integer],
                required: ["field", "operator", "value"]),
            "Attack": object(
                [
                    "id": string, "domain": string, "type": ["type": "string", "enum": ["http_flood", "slowloris"]],
                    "severity": ["type": "string", "enum": ["low", "medium", "high", "critical"]], "peak_rps": integer,
                    "requests": integer, "source_ips": strings, "source_countries": strings, "mitigation": string,
                    "status": ["type": "string", "enum": ["active", "mitigated"]], "started_at": string, "ended_at": string,
                    "nodes": strings,
                ], required: ["id", "type", "severity", "peak_rps", "status", "started_at"]),
            "AttackList": list("attacks", of: "Attack"),
            "DDoSOverview": object(
                [
                    "protection": string, "period": string, "domains": integer, "under_attack_domains": strings, "requests": integer,
                    "bandwidth_bytes": integer, "blocked": integer, "challenged": integer, "cache_hit_rate": number,
                    "requests_per_second": number, "threat_score": integer,
                    "traffic": [
                        "type": "array",
                        "items": object(
                            ["start": string, "total": integer, "blocked": integer, "challenged": integer],
                            required: ["start", "total", "blocked", "challenged"]),
                    ],
                    "attack_types": ["type": "object", "additionalProperties": integer],
                    "mitigation_methods": ["type": "object", "additionalProperties": integer],
                    "top_countries": [
                        "type": "array", "items": object(["country": string, "requests": integer], required: ["country", "requests"]),
                    ],
                    "recent_attacks": ["type": "array", "items": ref("Attack")],
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
            "Status": object(["status": string, "database": string, "detail": string], required: ["status"]),
            "Detail": object(["detail": string], required: ["detail"]),
            "RegisterRequest": object(
                [
                    "email": ["type": "string", "format": "email"], "password": ["type": "string", "minLength": 10],
                    "referral_code": string,
                ], required: ["email", "password"]),
            "RegisterResponse": object(
                ["user": ref("User"), "verification_sent": boolean, "detail": string], required: ["user", "verification_sent"]),
            "LoginRequest": object(["email": string, "password": string], required: ["email", "password"]),
            "LoginResponse": object(
                ["access_token": string, "token_type": string, "expires_in": ["type": "integer"], "user": ref("User")],
                required: ["access_token", "token_type", "expires_in", "user"]),
            "VerifyResponse": object(["verified": boolean, "user": ref("User")], required: ["verified", "user"]),
            "EmailRequest": object(["email": string], required: ["email"]),
            "Providers": object(
                ["password": boolean, "oidc": object(["issuer": string, "label": string, "start_url": string])], required: ["password"]),
            "User": object(
                [
                    "id": uuid, "email": string, "role": ["type": "string", "enum": User.Role.allCases.map(\.rawValue)], "plan": string,
                    "email_verified": boolean, "has_password": boolean, "sign_in_with_provider": boolean, "created_at": time,
                ],
                required: ["id", "email", "role", "plan", "email_verified"]),
            "PasswordChange": object(["current_password": string, "new_password": string], required: ["new_password"]),
            "TokenRequest": object(["name": ["type": "string", "minLength": 1, "maxLength": 64]], required: ["name"]),
            "Token": object(
                [
                    "id": uuid, "name": string, "prefix": string, "created_at": time, "last_used_at": time,
                    "token": ["type": "string", "description": "Only in the creating response"],
                ], required: ["id", "name", "prefix"]),
            "TokenList": list("tokens", of: "Token"),
            "Plan": object(
                [
                    "id": string, "name": string,
                    "monthly_price": ["type": ["number", "null"], "description": "Credits per month; null is custom"],
                    "byok_required": boolean, "limits": limits,
                ], required: ["id", "name", "limits"]),
            "PlanList": list("plans", of: "Plan"),
            "PlanChange": object([
                "name": string, "monthly_price": ["type": ["number", "null"]], "byok_required": boolean, "limits": limits,
            ]),
            "LimitsResponse": object(
                [
                    "plan": ref("Plan"),
                    "usage": [
                        "type": "array",
                        "items": object([
                            "limit": string, "title": string, "maximum": ["type": ["integer", "null"]],
                            "used": ["type": ["integer", "null"]],
                        ]),
                    ],
                ],
                required: ["plan", "usage"]),
            "UserList": list("users", of: "User"),
            "UserChange": object(["role": ["type": "string", "enum": User.Role.allCases.map(\.rawValue)], "plan_id": string]),
            "OutboxMessage": object([
                "id": uuid, "from": string, "to": ["type": "array", "items": string], "subject": string, "body": string, "created_at": time,
            ]),
            "OutboxList": list("messages", of: "OutboxMessage"),
            "NewDomain": object(
                [
                    "domain": ["type": "string", "description": "e.g. example.com (IDN accepted)"],
                    "origin_ip": ["type": "string", "description": "IP or host name, optional :port"],
                ].merging(domainSettings) { a, _ in a }, required: ["domain", "origin_ip"]),
            "DomainSettings": object(domainSettings),
            "Domain": object(
                [
                    "id": uuid, "name": string, "status": ["type": "string", "enum": ["pending", "active"]],
                    "nameservers": ["type": "array", "items": string], "serial": ["type": "integer"], "dev_mode": boolean,
                    "dev_mode_until": time, "activated_at": time, "created_at": time, "updated_at": time,
                ].merging(domainSettings) { a, _ in a },
                required: ["id", "name", "status", "nameservers"]),
            "DomainList": list("domains", of: "Domain"),
            "RecordDraft": object([
                "name": ["type": "string", "description": "@ for the apex"], "type": ["type": "string", "enum": DNSRecordContent.types],
                "content": string, "ttl": ["type": "integer", "description": "0 = auto, else 60–86400"], "priority": ["type": "integer"],
                "proxied": boolean,
            ]),
            "Record": object(
                [
                    "id": uuid, "name": string, "fqdn": string, "type": string, "content": string, "ttl": ["type": "integer"],
                    "priority": ["type": ["integer", "null"]], "proxied": boolean, "created_at": time, "updated_at": time,
                ], required: ["id", "name", "type", "content"]),
            "RecordList": list("records", of: "Record"),
            "ZoneImport": object(
                ["zone": ["type": "string", "description": "BIND zone file text"], "replace": boolean], required: ["zone"]),
            "ZoneImportResult": object([
                "imported": ["type": "integer"], "skipped": ["type": "integer"],
                "errors": ["type": "array", "items": object(["line": ["type": "integer"], "detail": string])],
            ]),
            "PageRuleDraft": object([
                "pattern": ["type": "string", "description": "URL pattern with * wildcards, e.g. *.example.com/api/*"],
                "position": ["type": "integer", "minimum": 1],
                "cache_level": ["type": "string", "enum": ["standard", "aggressive", "bypass"]],
                "edge_ttl": ["type": "integer", "minimum": 1, "maximum": 2_592_000],
                "browser_ttl": ["type": "integer", "minimum": 3600, "maximum": 31_536_000],
                "forwarding_url": ["type": "string", "description": "Redirect target; $1… are the wildcards"],
                "forwarding_status": ["type": "integer", "enum": [301, 302]], "always_https": boolean,
                "clear": ["type": "array", "items": string, "description": "Actions to remove on update"],
            ]),
            "PageRule": object(
                [
                    "id": uuid, "position": ["type": "integer"], "pattern": string, "cache_level": string, "edge_ttl": ["type": "integer"],
                    "browser_ttl": ["type": "integer"], "forwarding_url": string, "forwarding_status": ["type": "integer"],
                    "always_https": boolean, "created_at": time, "updated_at": time,
                ], required: ["id", "position", "pattern", "always_https"]),
            "PageRuleList": list("page_rules", of: "PageRule"),
            "PurgeDraft": object([
                "everything": boolean, "urls": ["type": "array", "items": string, "maxItems": 100],
                "prefixes": ["type": "array", "items": string, "maxItems": 100],
                "tags": ["type": "array", "items": string, "maxItems": 100],
            ]),
            "Purge": object(
                [
                    "id": uuid, "everything": boolean, "urls": ["type": "array", "items": string],
                    "prefixes": ["type": "array", "items": string], "tags": ["type": "array", "items": string],
                    "version": ["type": "integer"], "nodes_done": ["type": "integer"], "nodes_total": ["type": "integer"],
                    "created_at": time,
                ], required: ["id", "version", "nodes_done", "nodes_total"]),
            "PurgeList": list("purges", of: "Purge"),
            "Analytics": object(
                [
                    "domain": string, "period": string, "interval_seconds": ["type": "integer"], "from": time, "to": time,
                    "totals": object([
                        "requests": ["type": "integer"], "bytes": ["type": "integer"], "cache_hits": ["type": "integer"],
                        "cache_hit_ratio": ["type": "number"], "status2xx": ["type": "integer"], "status3xx": ["type": "integer"],
                        "status4xx": ["type": "integer"], "status5xx": ["type": "integer"],
                    ]),
                    "buckets": [
                        "type": "array",
                        "items": object([
                            "start": time, "requests": ["type": "integer"], "bytes": ["type": "integer"], "cache_hits": ["type": "integer"],
                            "status2xx": ["type": "integer"], "status3xx": ["type": "integer"], "status4xx": ["type": "integer"],
                            "status5xx": ["type": "integer"],
                        ]),
                    ],
                ], required: ["domain", "period", "interval_seconds", "totals", "buckets"]),
            "HAEnable": object(["domain_name": string, "domain_id": uuid, "multi_node_redundancy": boolean, "dns_fallback": boolean]),
            "HAStatus": object([
                "domain": string, "enabled": boolean, "multi_node_redundancy": boolean, "dns_fallback": boolean,
                "healthy_edge_nodes": ["type": "integer"], "regions": ["type": "array", "items": string],
                "nameservers": ["type": "array", "items": string],
            ]),
            "NodeDraft": object([
                "name": string, "roles": ["type": "array", "items": ["type": "string", "enum": ["edge", "dns", "mail"]]], "region": string,
                "country": string, "latitude": ["type": "number"], "longitude": ["type": "number"], "ipv4": string, "ipv6": string,
                "capacity": ["type": "integer"], "ip_allowlist": ["type": "array", "items": string],
            ]),
            "Node": object([
                "id": uuid, "name": string, "roles": ["type": "array", "items": string], "region": string, "country": string,
                "ipv4": string, "ipv6": string, "healthy": boolean, "last_heartbeat_at": time,
                "token": ["type": "string", "description": "Only when created or rotated"],
            ]),
            "NodeList": list("nodes", of: "Node"),
            "NodeRegistration": object(
                [
                    "role": ["type": "string", "enum": ["edge", "dns", "mail"]], "name": string, "region": string, "country": string,
                    "latitude": ["type": "number"], "longitude": ["type": "number"], "ipv4": string, "ipv6": string,
                    "capacity": ["type": "integer"],
                ], required: ["role"]),
            "NodeReport": object(
                [
                    "config_version": ["type": "integer"], "window_seconds": ["type": "integer"], "dns_queries": ["type": "integer"],
                    "domains": [
                        "type": "array",
                        "items": object([
                            "domain": string, "requests": ["type": "integer"], "bytes": ["type": "integer"],
                            "cache_hits": ["type": "integer"], "status2xx": ["type": "integer"], "status3xx": ["type": "integer"],
                            "status4xx": ["type": "integer"], "status5xx": ["type": "integer"], "blocked": ["type": "integer"],
                            "challenged": ["type": "integer"],
                        ]),
                    ],
                ], required: ["window_seconds"]),
            "NodeConfig": object(
                [
                    "version": ["type": "integer"], "full": boolean,
                    "removed_domains": ["type": "array", "items": uuid], "nodes": ["type": "array", "items": ["type": "object"]],
                    "edge": object(
                        [
                            "domains": ["type": "array", "items": ["type": "object"]],
                            "purges": ["type": "array", "items": ["type": "object"]], "protection": ["type": "object"],
                        ], required: ["domains", "purges"]),
                    "dns": object(
                        [
                            "zones": ["type": "array", "items": ["type": "object"]], "nameservers": ["type": "array", "items": string],
                            "hostmaster": string,
                        ], required: ["zones", "nameservers", "hostmaster"]),
                ], required: ["version", "full", "nodes", "removed_domains"]),
        ]
        return core.merging(moneySchemas) { a, _ in a }
    }

    /// The document as JSON.
    public static func json(isDev: Bool, publicURL: String) throws -> Data {
        var paths: [String: [String: Any]] = [:]
        for operation in operations(isDev: isDev) {
            var parameters: [[String: Any]] = operation.query.map {
                ["name": $0.name, "in": "query", "required": false, "schema": $0.schema, "description": $0.description]
            }
            // Every {name} of the path is a path parameter.
            for piece in operation.path.split(separator: "{").dropFirst() {
                guard let name = piece.split(separator: "}").first else { continue }
                parameters.append(["name": String(name), "in": "path", "required": true, "schema": string])
            }
            var responses: [String: Any] = [:]
            for (status, schema) in operation.responses {
                var response: [String: Any] = ["description": HTTPStatusText.text(status)]
                if let schema { response["content"] = ["application/json": ["schema": ref(schema)]] }
                responses[String(status)] = response
            }
            if operation.access == .user || operation.access == .admin {
                responses["401"] = ["description": "Not signed in", "content": ["application/json": ["schema": ref("Error")]]]
                responses["429"] = [
                    "description": "API burst exceeded (Retry-After)", "content": ["application/json": ["schema": ref("Error")]],
                ]
            }
            var entry: [String: Any] = [
                "summary": operation.summary, "tags": [operation.tag], "responses": responses,
                "operationId": operation.method
                    + operation.path.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "{", with: "").replacingOccurrences(
                        of: "}", with: ""),
            ]
            if operation.idempotent {
                parameters.append([
                    "name": "Idempotency-Key", "in": "header", "required": false, "schema": string,
                    "description": "Retries with the same key get the first answer instead of repeating the call",
                ])
            }
            if !parameters.isEmpty { entry["parameters"] = parameters }
            if let body = operation.body {
                entry["requestBody"] = ["required": true, "content": ["application/json": ["schema": ref(body)]]]
            }
            entry["security"] = operation.access == .publicRoute ? [] : operation.access == .node ? [["node": []]] : [["bearer": []]]
            if operation.access == .admin { entry["description"] = "Requires the admin role." }
            paths[operation.path, default: [:]][operation.method] = entry
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "DCDN API", "version": "1",
                "description": "The DCDN coordinator API. Errors are {\"detail\", \"code\", \"field\"}; lists take limit and offset.",
            ],
            "servers": [["url": publicURL]],
            "paths": paths,
            "components": [
                "schemas": schemas,
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "A JWT from /auth/login or an API token (dcdn_…)"]
                ],
            ],
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Every route as "METHOD /path/{param}", for the completeness test.
    public static func routeKeys(isDev: Bool) -> Set<String> {
        Set(operations(isDev: isDev).map { "\($0.method.uppercased()) \($0.path)" })
    }
}

enum HTTPStatusText {
    static func text(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 302: "Redirect"
        case 303: "See Other"
        case 400: "Bad request"
        case 401: "Not signed in"
        case 403: "Forbidden"
        case 404: "Not found"
        case 409: "Conflict"
        case 422: "Validation error (names the field)"
        case 429: "Rate limited (Retry-After)"
        case 503: "Unavailable"
        default: "Status \(status)"
        }
    }
}
