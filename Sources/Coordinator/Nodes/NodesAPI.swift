import Foundation

/// The node API and admins' node registry.
extension OpenAPIDocument {
    static var nodesOperations: [Operation] {
        [
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
    }
}

extension NodesArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.nodesOperations }
}
