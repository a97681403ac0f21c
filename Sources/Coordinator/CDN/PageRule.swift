import FluentKit
import Foundation

/// A domain's page rule (§3): a URL pattern and its actions, tried in `position` order.
public final class PageRule: Model, @unchecked Sendable {
    public static let schema = "page_rules"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "domain_id") var domain: Domain
    @Field(key: "position") public var position: Int
    @Field(key: "pattern") public var pattern: String
    @OptionalField(key: "cache_level") public var cacheLevel: String?
    @OptionalField(key: "edge_ttl") public var edgeTTL: Int?
    @OptionalField(key: "browser_ttl") public var browserTTL: Int?
    @OptionalField(key: "forwarding_url") public var forwardingURL: String?
    @OptionalField(key: "forwarding_status") public var forwardingStatus: Int?
    @Field(key: "always_https") public var alwaysHTTPS: Bool
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}
}

/// A cache purge a customer asked for; nodes receive it with the configuration at `version`.
public final class PurgeRequest: Model, @unchecked Sendable {
    public static let schema = "purge_requests"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "domain_id") var domain: Domain
    @Field(key: "domain_name") public var domainName: String
    @Field(key: "version") public var version: Int64
    @Field(key: "everything") public var everything: Bool
    @Field(key: "urls") public var urls: [String]
    @Field(key: "prefixes") public var prefixes: [String]
    @Field(key: "tags") public var tags: [String]
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}
}
