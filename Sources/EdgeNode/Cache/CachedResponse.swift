import Foundation
import HTTPTypes
import NIOCore

/// A stored response's metadata: what RFC 9111 needs to decide freshness and to build the
/// response again, plus what purges select on (domain, URL, tags).
struct CachedResponse: Codable, Sendable {
    /// The primary cache key: the host and the request target.
    var key: String
    /// The request's values of the response's Vary fields ("" without Vary).
    var variant: String
    var domain: String
    var status: Int
    /// The origin's fields, hop-by-hop ones removed, in order.
    var headers: [[String]] { didSet { buildFields() } }
    /// The fields a hit is served with (the origin's, Via and the security headers) and the
    /// parsed Cache-Control, built once rather than on every hit (not stored: rebuilt on load).
    var fields = HTTPFields()
    var control = CacheControl()
    /// When the edge stored (or last revalidated) it, Unix seconds.
    var responseTime: Double
    /// RFC 9111 §4.2.3's corrected_initial_age.
    var initialAge: Double
    /// Seconds the response stays fresh from the origin's point of view.
    var freshness: Double
    var staleWhileRevalidate: Double
    var staleIfError: Double
    /// must-revalidate, proxy-revalidate or s-maxage: never served stale.
    var mustRevalidate: Bool
    /// no-cache: stored, but revalidated before every use.
    var noCache: Bool
    var vary: [String]
    var tags: [String]
    var bodyLength: Int
    /// The body file when on disk, relative to the cache folder.
    var bodyFile: String?

    enum CodingKeys: String, CodingKey {
        case key, variant, domain, status, headers, responseTime, initialAge, freshness, staleWhileRevalidate, staleIfError
        case mustRevalidate, noCache, vary, tags, bodyLength, bodyFile
    }

    var entryID: String { key + "\u{0}" + variant }

    mutating func buildFields() {
        fields = OriginFetcher.fields(headers)
        EdgeCache.decorate(&fields)
        control = CacheControl(fields[values: .cacheControl])
    }

    func header(_ name: String) -> String? {
        headers.first { $0[0].caseInsensitiveCompare(name) == .orderedSame }?[1]
    }

    func age(now: Double) -> Double { initialAge + max(0, now - responseTime) }

    /// Seconds of freshness left; negative once stale.
    func ttl(now: Double) -> Double { freshness - age(now: now) }

    var etag: String? { header("ETag") }
    var lastModified: String? { header("Last-Modified") }
    /// The conditional fields that revalidate it with the origin.
    var validators: [(String, String)] {
        [etag.map { ("If-None-Match", $0) }, lastModified.map { ("If-Modified-Since", $0) }].compactMap { $0 }
    }
}
