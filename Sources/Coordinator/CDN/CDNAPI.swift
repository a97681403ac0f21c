import Foundation
import OpenAPIKit

/// Page rules, purges and analytics (§3).
extension OpenAPIDocument {
    static var cdnOperations: [Operation] {
        [
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
                method: "get", path: "/api/v1/cdn/domains/{id}/purges", summary: "Recent purges and how many edge nodes have run them",
                tag: "Caching", access: .user, responses: [(200, "PurgeList"), (404, "Error")], query: page),
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/analytics",
                summary: "Traffic by time bucket: requests, bytes, cache hits, statuses",
                tag: "Analytics", access: .user, responses: [(200, "Analytics"), (404, "Error"), (422, "Error")],
                query: [
                    (
                        "period", .string(allowedValues: ["1h", "24h", "7d", "30d"], defaultValue: "24h"),
                        "Time span; buckets are 1 min, 1 h, 6 h, 1 day"
                    )
                ]),
        ]
    }
}

extension CDNArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.cdnOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.cdnSchemas }
}

extension OpenAPIDocument {
    static var cdnSchemas: [String: JSONSchema] {
        [
            "PageRuleDraft": object([
                "pattern": .string(description: "URL pattern with * wildcards, e.g. *.example.com/api/*"),
                "position": .integer(minimum: (1, exclusive: false)),
                "cache_level": .string(allowedValues: ["standard", "aggressive", "bypass"]),
                "edge_ttl": .integer(maximum: (2_592_000, exclusive: false), minimum: (1, exclusive: false)),
                "browser_ttl": .integer(maximum: (31_536_000, exclusive: false), minimum: (3600, exclusive: false)),
                "forwarding_url": .string(description: "Redirect target; $1… are the wildcards"),
                "forwarding_status": .integer(allowedValues: [301, 302]), "always_https": boolean,
                "clear": .array(description: "Actions to remove on update", items: string),
            ]),
            "PageRule": object(
                [
                    "id": uuid, "position": .integer, "pattern": string, "cache_level": string, "edge_ttl": .integer,
                    "browser_ttl": .integer, "forwarding_url": string, "forwarding_status": .integer,
                    "always_https": boolean, "created_at": time, "updated_at": time,
                ], required: ["id", "position", "pattern", "always_https"]),
            "PageRuleList": list("page_rules", of: "PageRule"),
            "PurgeDraft": object([
                "everything": boolean, "urls": .array(maxItems: 100, items: string),
                "prefixes": .array(maxItems: 100, items: string),
                "tags": .array(maxItems: 100, items: string),
            ]),
            "Purge": object(
                [
                    "id": uuid, "everything": boolean, "urls": .array(items: string),
                    "prefixes": .array(items: string), "tags": .array(items: string),
                    "version": .integer, "nodes_done": .integer, "nodes_total": .integer,
                    "created_at": time,
                ], required: ["id", "version", "nodes_done", "nodes_total"]),
            "PurgeList": list("purges", of: "Purge"),
            "Analytics": object(
                [
                    "domain": string, "period": string, "interval_seconds": .integer, "from": time, "to": time,
                    "totals": object([
                        "requests": .integer, "bytes": .integer, "cache_hits": .integer,
                        "cache_hit_ratio": .number, "status2xx": .integer, "status3xx": .integer,
                        "status4xx": .integer, "status5xx": .integer,
                    ]),
                    "buckets": .array(
                        items: object([
                            "start": time, "requests": .integer, "bytes": .integer, "cache_hits": .integer,
                            "status2xx": .integer, "status3xx": .integer, "status4xx": .integer,
                            "status5xx": .integer,
                        ])),
                ], required: ["domain", "period", "interval_seconds", "totals", "buckets"]),
            "HAEnable": object(["domain_name": string, "domain_id": uuid, "multi_node_redundancy": boolean, "dns_fallback": boolean]),
            "HAStatus": object([
                "domain": string, "enabled": boolean, "multi_node_redundancy": boolean, "dns_fallback": boolean,
                "healthy_edge_nodes": .integer, "regions": .array(items: string),
                "nameservers": .array(items: string), "nameserver_regions": .array(items: string),
            ]),
        ]
    }
}
