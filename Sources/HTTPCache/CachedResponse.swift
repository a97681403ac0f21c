import Foundation
import HTTPTypes
import NIOCore

/// A stored response's metadata: what RFC 9111 needs to decide freshness and to build the
/// response again, plus what purges select on (domain, URL, tags).
package struct CachedResponse: Codable, Sendable {
    /// The primary cache key: the host and the request target.
    package var key: String
    /// The request's values of the response's Vary fields ("" without Vary).
    package var variant: String
    package var domain: String
    package var status: Int
    /// The origin's fields, hop-by-hop ones removed, in order.
    package var headers: [[String]] { didSet { buildFields() } }
    /// The origin's fields and the parsed Cache-Control, built once rather than on every hit (not
    /// stored: rebuilt on load).
    package var fields = HTTPFields()
    package var control = CacheControl()
    /// When the edge stored (or last revalidated) it, Unix seconds.
    package var responseTime: Double
    /// RFC 9111 §4.2.3's corrected_initial_age.
    package var initialAge: Double
    /// Seconds the response stays fresh from the origin's point of view.
    package var freshness: Double
    package var staleWhileRevalidate: Double
    package var staleIfError: Double
    /// must-revalidate, proxy-revalidate or s-maxage: never served stale.
    package var mustRevalidate: Bool
    /// no-cache: stored, but revalidated before every use.
    package var noCache: Bool
    package var vary: [String]
    package var tags: [String]
    package var bodyLength: Int
    /// The body file when on disk, relative to the cache folder.
    package var bodyFile: String?

    package enum CodingKeys: String, CodingKey {
        case key, variant, domain, status, headers, responseTime, initialAge, freshness, staleWhileRevalidate, staleIfError
        case mustRevalidate, noCache, vary, tags, bodyLength, bodyFile
    }

    package init(
        key: String, variant: String, domain: String, status: Int, headers: [[String]], responseTime: Double, initialAge: Double,
        freshness: Double, staleWhileRevalidate: Double, staleIfError: Double, mustRevalidate: Bool, noCache: Bool, vary: [String],
        tags: [String], bodyLength: Int, bodyFile: String?
    ) {
        self.key = key
        self.variant = variant
        self.domain = domain
        self.status = status
        self.headers = headers
        self.responseTime = responseTime
        self.initialAge = initialAge
        self.freshness = freshness
        self.staleWhileRevalidate = staleWhileRevalidate
        self.staleIfError = staleIfError
        self.mustRevalidate = mustRevalidate
        self.noCache = noCache
        self.vary = vary
        self.tags = tags
        self.bodyLength = bodyLength
        self.bodyFile = bodyFile
    }

    package var entryID: String { key + "\u{0}" + variant }

    /// The stored header pairs as fields, and their Cache-Control. What a deliverer adds (the
    /// edge's Via and security headers) is its own business.
    package mutating func buildFields() {
        fields = Self.fields(headers)
        control = CacheControl(fields[values: .cacheControl])
    }

    /// Header pairs (`[[name, value]]`, as stored) as fields; pairs with invalid names are dropped.
    package static func fields(_ pairs: [[String]]) -> HTTPFields {
        var fields = HTTPFields()
        for pair in pairs {
            if let name = HTTPField.Name(pair[0]) { fields.append(HTTPField(name: name, value: pair[1])) }
        }
        return fields
    }

    package func header(_ name: String) -> String? {
        headers.first { $0[0].caseInsensitiveCompare(name) == .orderedSame }?[1]
    }

    package func age(now: Double) -> Double { initialAge + max(0, now - responseTime) }

    /// Seconds of freshness left; negative once stale.
    package func ttl(now: Double) -> Double { freshness - age(now: now) }

    /// It may be served stale (while revalidating, on an origin error, with the origin down):
    /// not under must-revalidate, proxy-revalidate, s-maxage or no-cache (RFC 9111 §4.2.4).
    package var mayServeStale: Bool { !mustRevalidate && !noCache }

    /// It carries Set-Cookie: one visitor's response, never stored for others.
    package var setsCookie: Bool { fields[.setCookie] != nil || fields[.setCookie2] != nil }

    package var etag: String? { header("ETag") }
    package var lastModified: String? { header("Last-Modified") }
    /// The conditional fields that revalidate it with the origin.
    package var validators: [(String, String)] {
        [etag.map { ("If-None-Match", $0) }, lastModified.map { ("If-Modified-Since", $0) }].compactMap { $0 }
    }
}

extension HTTPField.Name {
    /// RFC 2965's obsolete cookie field: still one visitor's state.
    package static let setCookie2 = Self("Set-Cookie2")!
}
