import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import Coordinator

/// A request body's field that its type never reads is a 400 naming it, at any depth.
@Suite("Unknown request fields")
struct UnknownFieldsTests {
    struct Rule: Decodable {
        var pattern: String
        var edgeTtl: Int?
    }
    struct Body: Decodable {
        var domainName: String
        var enabled: Bool?
        var rules: [Rule]
        var labels: [String: String]?
        var startsAt: Date?
    }

    func first(_ json: String) throws -> String? {
        UnknownFields.first(in: try JSONSerialization.jsonObject(with: Data(json.utf8)), decoding: Body.self)
    }

    @Test("fields are matched as the API decoder matches them: snake_case, nested, in arrays; dictionaries take any key")
    func matching() throws {
        #expect(
            try first(
                #"{"domain_name": "a.example", "enabled": null, "rules": [{"pattern": "*", "edge_ttl": 5}], "labels": {"any": "x"}, "starts_at": "2026-01-01T00:00:00Z"}"#
            ) == nil)
        #expect(try first(#"{"domain_name": "a.example", "rules": [], "colour": "red"}"#) == "colour")
        #expect(try first(#"{"domainName": "a.example", "domain_name": "b", "rules": []}"#) == "domainName")
        #expect(
            try first(#"{"domain_name": "a.example", "rules": [{"pattern": "*"}, {"pattern": "*", "edge_tll": 5}]}"#) == "rules.1.edge_tll")
    }

    @Test("the API answers 400 unknown_field and changes nothing")
    func api() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (_, userID) = try await client.signUp(app, email: "fields@example.com")
            let typo = try await client.json(.patch, "/api/v1/admin/users/\(userID)", ["plan": "business"], token: admin)
            #expect(typo.status == .badRequest && typo.error?.code == "unknown_field" && typo.error?.field == "plan", "\(typo.text)")
            let users = try await client.json(.get, "/api/v1/admin/users?limit=500", token: admin).decode(AdminController.UserList.self)
            let row = users.users.first { $0.id.uuidString == userID }
            #expect(row != nil && row?.plan == "free", "the rejected call changed nothing")
            let (jwt, _) = try await client.signUp(app, email: "typo@example.com")
            let domain = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "typo.example", "origin_ip": "203.0.113.1", "orgin_port": 8080], token: jwt)
            #expect(domain.status == .badRequest && domain.error?.field == "orgin_port", "\(domain.text)")
            #expect(try await client.json(.get, "/api/v1/cdn/domains", token: jwt).decode(DomainsController.DomainList.self).total == 0)
        }
    }
}
