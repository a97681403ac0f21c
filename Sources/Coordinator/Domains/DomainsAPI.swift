import DCDNCore
import Foundation
import OpenAPIKit

/// Domains, DNS records, zone files and high availability (§3, §11).
extension OpenAPIDocument {
    static func domainsOperations(isDev: Bool) -> [Operation] {
        var operations: [Operation] = [
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
                access: .user, responses: [(200, "text/dns"), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/zone",
                summary: "Import a BIND zone file (text/plain body, or JSON {zone, replace})", tag: "DNS", access: .user,
                body: "ZoneImport", responses: [(200, "ZoneImportResult"), (413, "Error")]),
        ]
        for prefix in ["/api/v1/content_moderation", "/api/v1/high-availability"] {
            operations += [
                Operation(
                    method: "get", path: "\(prefix)/features", summary: "High-availability features (public)", tag: "High availability",
                    access: .publicRoute, responses: [(200, "HAFeatures")]),
                Operation(
                    method: "post", path: "\(prefix)/enable", summary: "Enable multi-node redundancy and DNS fallback for a domain",
                    tag: "High availability", access: .user, body: "HAEnable", responses: [(200, "HAStatus"), (404, "Error")]),
                Operation(
                    method: "get", path: "\(prefix)/status/{domain}", summary: "High-availability status of a domain",
                    tag: "High availability", access: .user, responses: [(200, "HAStatus"), (404, "Error")]),
            ]
        }
        return operations
    }
}

extension DomainsArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.domainsOperations(isDev: isDev) }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.domainsSchemas }
}

extension OpenAPIDocument {
    static var domainsSchemas: [String: JSONSchema] {
        [
            "NewDomain": object(
                [
                    "domain": .string(description: "e.g. example.com (IDN accepted)"),
                    "origin_ip": .string(description: "IP or host name, optional :port"),
                ].merging(domainSettings) { a, _ in a }, required: ["domain", "origin_ip"]),
            "DomainSettings": object(domainSettings),
            "Domain": object(
                [
                    "id": uuid, "name": string, "status": .string(allowedValues: ["pending", "active"]),
                    "nameservers": .array(items: string), "serial": .integer, "dev_mode": boolean,
                    "dev_mode_until": time, "activated_at": time, "created_at": time, "updated_at": time,
                ].merging(domainSettings) { a, _ in a },
                required: ["id", "name", "status", "nameservers"]),
            "DomainList": list("domains", of: "Domain"),
            "RecordDraft": object([
                "name": .string(description: "@ for the apex"),
                "type": .string(allowedValues: DNSRecordContent.types.map { AnyCodable($0) }),
                "content": string, "ttl": .integer(description: "0 = auto, else 60–86400"), "priority": .integer,
                "proxied": boolean,
            ]),
            "Record": object(
                [
                    "id": uuid, "name": string, "fqdn": string, "type": string, "content": string, "ttl": .integer,
                    "priority": .integer(nullable: true), "proxied": boolean, "created_at": time, "updated_at": time,
                ], required: ["id", "name", "type", "content"]),
            "RecordList": list("records", of: "Record"),
            "HAFeatures": object(
                [
                    "features": .array(
                        items: object(["key": string, "title": string, "description": string], required: ["key", "title", "description"])),
                    "total": integer, "included_in_all_plans": boolean,
                ], required: ["features", "total", "included_in_all_plans"]),
            "ZoneImport": object(
                ["zone": .string(description: "BIND zone file text"), "replace": boolean], required: ["zone"]),
            "ZoneImportResult": object([
                "imported": .integer, "skipped": .integer,
                "errors": .array(items: object(["line": .integer, "detail": string])),
            ]),
        ]
    }
}
