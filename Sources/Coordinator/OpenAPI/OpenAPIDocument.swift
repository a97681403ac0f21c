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

    /// Every area's operations, in the order of `ProductAreas.all`.
    static func operations(isDev: Bool) -> [Operation] {
        ProductAreas.all.flatMap { $0.operations(isDev: isDev) }
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
            "Error": object(
                [
                    "detail": string,
                    "code": [
                        "type": "string", "enum": APIError.Code.all.map(\.description),
                        "description": "One of a closed set; 'field' names the request field when the error is about one",
                    ],
                    "field": string,
                ], required: ["detail", "code"]),
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
