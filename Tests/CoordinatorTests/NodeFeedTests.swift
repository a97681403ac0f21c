import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NodeProtocol
import SwiftASN1
import Testing
import X509

@testable import Coordinator

/// The node feed is scoped by role: a node receives only the sections of the roles an admin gave
/// it, so certificates' private keys and the challenge key reach edges and nothing else.
@Suite("Role-scoped node feed")
struct NodeFeedTests {
    /// A self-signed certificate for `name` and its key, in PEM.
    static func selfSigned(_ name: String) throws -> (chain: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-60),
            notValidAfter: now.addingTimeInterval(86_400), issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames([.dnsName(name), .dnsName("www." + name)]) },
            issuerPrivateKey: .init(key))
        return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation)
    }

    func node(_ client: any TestClientProtocol, admin: String, _ name: String, roles: [String]) async throws -> String {
        let created = try await client.json(
            .post, "/api/v1/admin/nodes", ["name": name, "roles": roles, "region": "eu-central", "country": "de", "ipv4": "192.0.2.10"],
            token: admin)
        #expect(created.status == .created, "\(created.text)")
        return try #require(try created.decode(NodesAdminController.NodeResponse.self).token)
    }

    @Test("a DNS-only node's full snapshot and deltas hold no key material; an edge's hold the keys")
    func keysReachEdgesOnly() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let edge = try await node(client, admin: admin, "edge-1", roles: ["edge"])
            let dns = try await node(client, admin: admin, "ns-1", roles: ["dns"])
            let both = try await node(client, admin: admin, "dev-1", roles: ["edge", "dns"])
            let (jwt, _) = try await client.signUp(app, email: "keys@example.com")
            let added = try await client.json(
                .post, "/api/v1/cdn/domains", ["domain": "keys.example", "origin_ip": "203.0.113.9"], token: jwt)
            #expect(added.status == .created, "\(added.text)")
            let before = try await client.nodeConfig(token: edge).version
            let (chain, key) = try Self.selfSigned("keys.example")
            _ = try await app.coordinator.certificates.importCertificate(domainName: "keys.example", chainPEM: chain, keyPEM: key)
            let clearanceKey = app.coordinator.secrets.clearanceKey.withUnsafeBytes { Data($0) }.base64EncodedString()

            // What a nameserver receives, whole and as a delta, and what the both-roles node's
            // nameserver process receives when it asks for its role: zones, never a key.
            for (query, token) in [("", dns), ("since=\(before)", dns), ("role=dns", both), ("role=dns&since=\(before)", both)] {
                let response = try await client.json(.get, "/api/v1/node-api/config?" + query, token: token)
                #expect(response.status == .ok, "\(query): \(response.text)")
                #expect(!response.text.contains("PRIVATE KEY") && !response.text.contains(key), "\(query)")
                #expect(!response.text.contains(clearanceKey), "\(query)")
                let snapshot = try JSONDecoder.nodeAPI.decode(NodeConfigSnapshot.self, from: Data(response.text.utf8))
                #expect(snapshot.edge == nil && snapshot.roles == [.dns], "\(query)")
                #expect(snapshot.dns?.zones.map(\.name) == ["keys.example"], "\(query)")
            }
            // What an edge receives: the certificate with its key, whole and as a delta.
            for (query, token) in [("", edge), ("since=\(before)", edge), ("role=edge", both), ("role=edge&since=\(before)", both)] {
                let snapshot = try await client.nodeConfig(query, token: token)
                #expect(snapshot.dns == nil && snapshot.roles == [.edge], "\(query)")
                let certificate = try #require(snapshot.edge?.domains.first?.certificate, "\(query)")
                #expect(certificate.keyPem == key && certificate.chainPem == chain && certificate.names.contains("keys.example"))
                #expect(snapshot.edge?.protection?.clearanceKey == clearanceKey)
            }
            // A node with both roles and no `role` gets both sections.
            #expect(try await client.nodeConfig(token: both).roles == [.edge, .dns])

            // A role is given by an admin, never taken: not by asking, not by registering.
            let asked = try await client.json(.get, "/api/v1/node-api/config?role=edge", token: dns)
            #expect(asked.status == .forbidden && asked.error?.code == "role_not_assigned", "\(asked.text)")
            let registered = try await client.json(.post, "/api/v1/node-api/register", ["role": "edge"], token: dns)
            #expect(registered.status == .forbidden && registered.error?.code == "role_not_assigned", "\(registered.text)")
            #expect(try await client.nodeConfig(token: dns).edge == nil)
            let unknown = try await client.json(.get, "/api/v1/node-api/config?role=toaster", token: dns)
            #expect(unknown.status == .unprocessableContent && unknown.error?.field == "role")
        }
    }

    @Test("a delta without a role's section drops it; one with it merges by domain")
    func deltaMerge() {
        let one = UUID()
        let two = UUID()
        func zone(_ id: UUID, _ name: String, serial: UInt32) -> ZoneConfig {
            ZoneConfig(id: id, name: name, serial: serial, multiNodeRedundancy: false, dnsFallback: false, records: [])
        }
        let full = NodeConfigSnapshot(
            version: 1, full: true, dns: DNSConfig(zones: [zone(one, "b.example", serial: 1), zone(two, "a.example", serial: 1)]))
        let delta = NodeConfigSnapshot(
            version: 2, full: false, removedDomains: [two], dns: DNSConfig(zones: [zone(one, "b.example", serial: 2)]))
        let applied = full.applying(delta)
        #expect(applied.full && applied.version == 2 && applied.removedDomains.isEmpty)
        #expect(applied.dns?.zones.map(\.serial) == [2] && applied.dns?.zones.map(\.id) == [one])
        #expect(full.applying(NodeConfigSnapshot(version: 3, full: false)).dns == nil)
    }
}
