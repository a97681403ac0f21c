import Foundation
import OpenAPIKit

/// The node API and admins' node registry.
extension OpenAPIDocument {
    static var nodesOperations: [Operation] {
        [
            Operation(
                method: "post", path: "/api/v1/node-api/register", summary: "A node announces its role and addresses (node token)",
                tag: "Node API", access: .node, body: "NodeRegistration",
                responses: [(200, "NodeRegistered"), (401, "Error"), (403, "Error")]),
            Operation(
                method: "get", path: "/api/v1/node-api/config",
                summary: "Long-poll the configuration snapshot or delta of the node's roles (304 when unchanged)", tag: "Node API",
                access: .node, responses: [(200, "NodeConfig"), (304, nil), (403, "Error"), (422, "Error")],
                query: [
                    ("role", .string(allowedValues: ["edge", "dns", "mail"]), "Only this role's section (one the node was given)"),
                    ("since", .integer, "Version the node has"),
                    ("wait", .integer(maximum: (60, exclusive: false)), "Seconds to wait for a change"),
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
    static var schemas: [String: JSONSchema] { OpenAPIDocument.nodesSchemas }
}

extension OpenAPIDocument {
    static var nodesSchemas: [String: JSONSchema] {
        [
            "NodeDraft": object([
                "name": string, "roles": .array(items: .string(allowedValues: ["edge", "dns", "mail"])), "region": string,
                "country": string, "latitude": .number, "longitude": .number, "ipv4": string, "ipv6": string,
                "hostname": .string(description: "A nameserver's public host name (DNS fallback adds it to NS sets)"),
                "capacity": .integer, "ip_allowlist": .array(items: string),
            ]),
            "Node": object([
                "id": uuid, "name": string, "roles": .array(items: string), "region": string, "country": string,
                "ipv4": string, "ipv6": string, "hostname": string, "healthy": boolean, "last_heartbeat_at": time, "latitude": .number,
                "longitude": .number, "capacity": .integer, "ip_allowlist": strings, "config_version_seen": .integer,
                "created_at": time,
                "token": .string(description: "Only when created or rotated"),
            ]),
            "NodeList": list("nodes", of: "Node"),
            "NodeRegistration": object(
                [
                    "role": .string(allowedValues: ["edge", "dns", "mail"]), "name": string, "region": string, "country": string,
                    "latitude": .number, "longitude": .number, "ipv4": string, "ipv6": string,
                    "capacity": .integer,
                ], required: ["role"]),
            "NodeRegistered": object(["id": uuid, "name": string, "roles": strings], required: ["id", "name", "roles"]),
            "NodeReport": object(
                [
                    "config_version": .integer, "window_seconds": .integer, "dns_queries": .integer,
                    "domains": .array(
                        items: object([
                            "domain": string, "requests": .integer, "bytes": .integer,
                            "cache_hits": .integer, "status2xx": .integer, "status3xx": .integer,
                            "status4xx": .integer, "status5xx": .integer, "blocked": .integer,
                            "challenged": .integer, "countries": .object(additionalProperties: .b(.integer)),
                            "mitigations": .object(additionalProperties: .b(.integer)),
                        ])),
                    "attacks": .array(items: .object),
                ]),
            "NodeConfig": object(
                [
                    "version": .integer, "full": boolean,
                    "removed_domains": .array(items: uuid), "nodes": .array(items: .object),
                    "edge": object(
                        [
                            "domains": .array(items: .object),
                            "purges": .array(items: .object), "protection": .object,
                        ], required: ["domains", "purges"]),
                    "dns": object(
                        [
                            "zones": .array(items: .object), "nameservers": .array(items: string),
                            "fallback_nameservers": .array(items: string),
                            "hostmaster": string,
                        ], required: ["zones", "nameservers", "hostmaster"]),
                ], required: ["version", "full", "nodes", "removed_domains"]),
        ]
    }
}
