import DCDNCore
import FluentKit
import Foundation

/// A TXT record the platform publishes for itself: ACME DNS-01 validation tokens at
/// `_acme-challenge.<name>`. Not a customer record: it does not show in the records editor, and
/// it expires on its own.
final class DNSChallenge: Model, @unchecked Sendable {
    static let schema = "dns_challenges"

    @ID(key: .id) var id: UUID?
    @Parent(key: "domain_id") var domain: Domain
    /// Relative to the zone, e.g. `_acme-challenge` or `_acme-challenge.www`.
    @Field(key: "name") var name: String
    @Field(key: "value") var value: String
    @Field(key: "expires_at") var expiresAt: Date

    init() {}
}

extension DomainService {
    static let challengeTTL = 60

    /// Publishes `_acme-challenge.<host>` TXT `value` in the zone that holds `host`; nameservers
    /// serve it within a long poll. Returns the challenge's ID for `withdrawChallenge`.
    public func publishChallenge(host rawHost: String, value: String, lifetime: TimeInterval = 3600) async throws -> UUID {
        guard let host = DNSRecordContent.hostname(IDNA.toASCII(rawHost.replacingOccurrences(of: "*.", with: "")) ?? ""),
            let domain = try await owningDomain(of: host)
        else { throw APIError.notFound("Domain for \(rawHost)") }
        guard !value.isEmpty, value.utf8.count <= 255 else { throw APIError.validation("value", "must be 1 to 255 bytes") }
        let relative = host == domain.name ? "" : "." + String(host.dropLast(domain.name.count + 1))
        let challenge = DNSChallenge()
        challenge.$domain.id = domain.id!
        challenge.name = "_acme-challenge" + relative
        challenge.value = value
        challenge.expiresAt = Date().addingTimeInterval(lifetime)
        try await db.transaction { db in
            try await challenge.create(on: db)
            try await touch(domain, on: db)
        }
        feed.changed()
        return challenge.id!
    }

    public func withdrawChallenge(_ id: UUID) async throws {
        guard let challenge = try await DNSChallenge.query(on: db).filter(\.$id == id).with(\.$domain).first() else { return }
        try await db.transaction { db in
            try await challenge.delete(on: db)
            try await touch(challenge.domain, on: db)
        }
        feed.changed()
    }

    /// The DCDN domain whose zone contains `host` (the longest matching suffix).
    func owningDomain(of host: String) async throws -> Domain? {
        var labels = host.split(separator: ".")
        while labels.count >= 2 {
            if let domain = try await Domain.query(on: db).filter(\.$name == labels.joined(separator: ".")).first() { return domain }
            labels.removeFirst()
        }
        return nil
    }
}
