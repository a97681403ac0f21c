import Foundation
import HTTPTypes

/// What a domain (and the page rule a request matched) asks of the cache for one request.
package struct CacheSettings: Sendable, Equatable {
    package enum Level: String, Sendable { case standard, aggressive, bypass }

    package var level: Level
    /// Freshness for responses the origin gave none (standard: static files only; aggressive: all).
    package var edgeTTL: Int
    /// A page rule's edge TTL replaces the origin's freshness too.
    package var edgeTTLOverrides: Bool
    /// The max-age visitors' browsers get for responses the edge stores when the origin set none.
    package var browserTTL: Int
    /// A page rule's browser TTL replaces the origin's max-age too.
    package var browserTTLOverrides = false
    /// Why the cache is skipped ("dev-mode", "cache-level"), nil when it is used.
    package var bypass: String?

    package init(level: Level, edgeTTL: Int, edgeTTLOverrides: Bool, browserTTL: Int, browserTTLOverrides: Bool = false, bypass: String?) {
        self.level = level
        self.edgeTTL = edgeTTL
        self.edgeTTLOverrides = edgeTTLOverrides
        self.browserTTL = browserTTL
        self.browserTTLOverrides = browserTTLOverrides
        self.bypass = bypass
    }
}

/// RFC 9111 decisions: whether a response may be stored, for how long, and under which variant.
package enum CachePolicy {
    /// Statuses cacheable by default (RFC 9110 §15.1) that the edge may also store heuristically.
    package static let heuristicallyCacheable: Set<Int> = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]
    /// Other statuses need explicit freshness.
    package static let storableWithExplicitFreshness: Set<Int> = [302, 307]
    /// Static file types cached at standard level even without caching headers.
    package static let staticExtensions: Set<String> = [
        "css", "js", "mjs", "map", "jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "ico", "bmp", "tif", "tiff", "woff", "woff2", "ttf",
        "otf", "eot", "mp4", "webm", "mp3", "ogg", "wav", "flac", "m4a", "pdf", "zip", "gz", "tgz", "bz2", "7z", "rar", "txt", "csv",
        "json", "xml", "wasm", "apk", "dmg", "iso", "exe", "msi", "bin", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "swf", "jar",
    ]
    /// Heuristic freshness: 10% of the time since Last-Modified (RFC 9111 §4.2.2), at most a day.
    package static let heuristicCap = 86_400.0

    /// The variant of a request for a response that varies on `names`: each field's value, with
    /// Accept-Encoding reduced to what the edge distinguishes so variants do not multiply.
    package static func variant(_ names: [String], request: HTTPFields) -> String {
        guard !names.isEmpty else { return "" }
        return names.map { name -> String in
            guard let field = HTTPField.Name(name) else { return name + "=" }
            let value = request[values: field].joined(separator: ",")
            if name == "accept-encoding" { return name + "=" + (ContentCoding.negotiate(acceptEncoding: value)?.rawValue ?? "identity") }
            return name + "=" + value.trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// The cache's view of an origin response, or nil when it must not be stored.
    package static func storable(
        status: Int, headers: HTTPFields, requestHasAuthorization: Bool, path: String, settings: CacheSettings, now: Double,
        requestTime: Double
    ) -> CachedResponse? {
        // RFC 9213: CDN-Cache-Control, when present, replaces Cache-Control for this cache.
        let targeted = headers[values: .cdnCacheControl]
        let control = CacheControl(targeted.isEmpty ? headers[values: .cacheControl] : targeted)
        guard !control.noStore, !control.isPrivate else { return nil }
        guard headers[.setCookie] == nil else { return nil }
        let vary = headers[values: .vary].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        guard !vary.contains("*") else { return nil }
        if requestHasAuthorization, !control.isPublic, control.sharedMaxAge == nil, !control.mustRevalidate { return nil }

        let date = headers[.date].flatMap(HTTPDate.parse) ?? now
        var freshness: Double?
        if let seconds = control.sharedFreshness {
            freshness = Double(seconds)
        } else if let expires = headers[.expires] {
            // An invalid Expires means "already expired" (RFC 9111 §5.3).
            freshness = HTTPDate.parse(expires).map { max(0, $0 - date) } ?? 0
        }
        let explicit = freshness != nil
        if settings.edgeTTLOverrides {
            freshness = Double(settings.edgeTTL)
        } else if freshness == nil {
            guard heuristicallyCacheable.contains(status) else { return nil }
            if settings.level == .aggressive || isStaticFile(path) {
                freshness = Double(settings.edgeTTL)
            } else if let modified = headers[.lastModified].flatMap(HTTPDate.parse), modified < date {
                freshness = min((date - modified) / 10, heuristicCap, Double(settings.edgeTTL))
            } else if headers[.eTag] != nil {
                // Stored stale: every use revalidates, which still saves the body transfer.
                freshness = 0
            } else {
                return nil
            }
        }
        guard heuristicallyCacheable.contains(status) || (explicit && storableWithExplicitFreshness.contains(status)) else { return nil }

        let ageValue = headers[.age].flatMap { Double($0) } ?? 0
        let apparentAge = max(0, now - date)
        let correctedAge = ageValue + (now - requestTime)
        let tags = headers[values: .cacheTag].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return CachedResponse(
            key: "", variant: "", domain: "", status: status, headers: [], responseTime: now, initialAge: max(apparentAge, correctedAge),
            freshness: freshness ?? 0, staleWhileRevalidate: Double(control.staleWhileRevalidate ?? 0),
            staleIfError: Double(control.staleIfError ?? 0),
            mustRevalidate: control.mustRevalidate || control.proxyRevalidate || control.sharedMaxAge != nil, noCache: control.noCache,
            vary: vary, tags: tags, bodyLength: 0, bodyFile: nil)
    }

    package static func isStaticFile(_ path: String) -> Bool {
        let bare = path.split(separator: "?", maxSplits: 1).first ?? ""
        guard let dot = bare.lastIndex(of: "."), !bare[dot...].contains("/") else { return false }
        return staticExtensions.contains(bare[bare.index(after: dot)...].lowercased())
    }
}

/// The wall clock the cache reads, in seconds since 1970 (RFC 9111 §4.2.3 computes ages from
/// wall-clock times); tests pass one they move by hand.
package struct CacheClock: Sendable {
    package var now: @Sendable () -> Double

    package init(now: @escaping @Sendable () -> Double) { self.now = now }

    package static let system = CacheClock { Date().timeIntervalSince1970 }
}

/// IMF-fixdate (and the two obsolete forms RFC 9110 §5.6.7 requires recipients to accept).
package enum HTTPDate {
    private static let formats = ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"]
    private static let formatters: [DateFormatter] = formats.map { format in
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = format
        return formatter
    }
    private static let lock = NSLock()

    package static func parse(_ text: String) -> Double? {
        lock.withLock {
            for formatter in formatters {
                if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
            }
            return nil
        }
    }

    package static func format(_ seconds: Double) -> String {
        lock.withLock { formatters[0].string(from: Date(timeIntervalSince1970: seconds)).replacingOccurrences(of: "UTC", with: "GMT") }
    }
}

extension HTTPField.Name {
    package static let cdnCacheControl = Self("CDN-Cache-Control")!
    package static let cacheStatus = Self("Cache-Status")!
    package static let cacheTag = Self("Cache-Tag")!
}
