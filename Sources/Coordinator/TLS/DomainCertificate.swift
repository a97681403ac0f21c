import FluentKit
import Foundation

/// A domain's TLS certificate: what was asked for, where issuance stands, and the issued chain
/// with its private key (encrypted with the coordinator's master secret).
final class DomainCertificate: Model, @unchecked Sendable {
    static let schema = "domain_certificates"

    enum Status: String, Codable, Sendable {
        /// Waiting for its first issuance.
        case pending
        case issued
        /// The last attempt failed and there is no certificate yet; retried with backoff.
        case failed
    }

    @ID(key: .id) var id: UUID?
    @Parent(key: "domain_id") var domain: Domain
    /// The apex and `www` (HTTP-01), or the apex and `*.` (DNS-01).
    @Field(key: "wildcard") var wildcard: Bool
    @Enum(key: "status") var status: Status
    @OptionalField(key: "chain_pem") var chainPem: String?
    @OptionalField(key: "key_sealed") var keySealed: String?
    @OptionalField(key: "names") var names: [String]?
    @OptionalField(key: "not_before") var notBefore: Date?
    @OptionalField(key: "not_after") var notAfter: Date?
    /// RFC 9773 certificate identifier, for renewal information and `replaces`.
    @OptionalField(key: "renewal_id") var renewalID: String?
    /// When the next issuance or renewal is due.
    @Field(key: "due_at") var dueAt: Date
    @Field(key: "attempts") var attempts: Int
    @OptionalField(key: "last_error") var lastError: String?
    /// A replica working on this certificate holds it until then (one order at a time).
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(domainID: UUID, wildcard: Bool) {
        $domain.id = domainID
        self.wildcard = wildcard
        status = .pending
        dueAt = Date()
        attempts = 0
    }
}

/// An ACME HTTP-01 answer the edges serve while the CA checks it.
final class ACMEHTTPChallenge: Model, @unchecked Sendable {
    static let schema = "acme_http_challenges"

    @ID(key: .id) var id: UUID?
    @Parent(key: "domain_id") var domain: Domain
    @Field(key: "token") var token: String
    @Field(key: "key_authorization") var keyAuthorization: String
    @Field(key: "expires_at") var expiresAt: Date

    init() {}
}

/// The platform's ACME account at one CA (its key encrypted at rest).
final class ACMEAccount: Model, @unchecked Sendable {
    static let schema = "acme_accounts"

    @ID(key: .id) var id: UUID?
    @Field(key: "directory_url") var directoryURL: String
    @Field(key: "key_sealed") var keySealed: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}
