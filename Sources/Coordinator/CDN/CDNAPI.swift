import Foundation

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
                        "period", ["type": "string", "enum": ["1h", "24h", "7d", "30d"], "default": "24h"],
                        "Time span; buckets are 1 min, 1 h, 6 h, 1 day"
                    )
                ]),
        ]
    }
}

extension CDNArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.cdnOperations }
}
