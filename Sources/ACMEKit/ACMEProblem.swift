import Foundation

/// An ACME server's error (RFC 8555 §6.7, RFC 7807 problem documents) or a failure talking to it,
/// in words a customer can act on.
public struct ACMEProblem: Error, Sendable, CustomStringConvertible {
    /// "urn:ietf:params:acme:error:rateLimited" and friends; nil for transport failures.
    public let type: String?
    public let detail: String
    public let status: Int?
    /// From Retry-After, when the server asked us to wait.
    public let retryAfter: Double?

    public init(type: String?, detail: String, status: Int? = nil, retryAfter: Double? = nil) {
        self.type = type
        self.detail = detail
        self.status = status
        self.retryAfter = retryAfter
    }

    public var isBadNonce: Bool { type == "urn:ietf:params:acme:error:badNonce" }
    public var isRateLimited: Bool { type == "urn:ietf:params:acme:error:rateLimited" || status == 429 }

    public var description: String {
        let kind = type.map { $0.replacingOccurrences(of: "urn:ietf:params:acme:error:", with: "") }
        return [kind, detail].compactMap { $0 }.joined(separator: ": ")
    }
}
