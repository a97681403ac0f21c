import Foundation

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
                access: .user, responses: [(200, nil)]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/zone",
                summary: "Import a BIND zone file (text/plain body, or JSON {zone, replace})", tag: "DNS", access: .user,
                body: "ZoneImport", responses: [(200, "ZoneImportResult"), (413, "Error")]),
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
        return operations
    }
}

extension DomainsArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.domainsOperations(isDev: isDev) }
}
