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
    /// Static file types cached at standard level even without caching headers, each with the
    /// media types a response must have to be cached for its extension (Cache Deception Armor:
    /// `/account/settings/x.css` answered with the account page's HTML is not a CSS file, and is
    /// not stored). Binary downloads may also come as application/octet-stream.
    package static let staticTypes: [String: [String]] = {
        let binary = "application/octet-stream"
        let javascript = ["text/javascript", "application/javascript", "application/x-javascript", "application/ecmascript"]
        return [
            "css": ["text/css"], "js": javascript, "mjs": javascript, "map": ["application/json", binary],
            "jpg": ["image/jpeg", "image/pjpeg"], "jpeg": ["image/jpeg", "image/pjpeg"], "png": ["image/png"], "gif": ["image/gif"],
            "webp": ["image/webp"], "avif": ["image/avif"], "svg": ["image/svg+xml"],
            "ico": ["image/x-icon", "image/vnd.microsoft.icon"], "bmp": ["image/bmp", "image/x-ms-bmp"], "tif": ["image/tiff"],
            "tiff": ["image/tiff"], "woff": ["font/woff", "application/font-woff", binary], "woff2": ["font/woff2", binary],
            "ttf": ["font/ttf", "font/sfnt", "application/x-font-ttf", "application/font-sfnt", binary],
            "otf": ["font/otf", "font/sfnt", "application/x-font-opentype", binary],
            "eot": ["application/vnd.ms-fontobject", binary], "mp4": ["video/mp4", "audio/mp4", binary],
            "webm": ["video/webm", "audio/webm", binary], "mp3": ["audio/mpeg", "audio/mp3", binary],
            "ogg": ["audio/ogg", "video/ogg", "application/ogg", binary], "wav": ["audio/wav", "audio/x-wav", "audio/wave", binary],
            "flac": ["audio/flac", "audio/x-flac", binary], "m4a": ["audio/mp4", "audio/x-m4a", binary],
            "pdf": ["application/pdf", binary],
            "zip": ["application/zip", "application/x-zip-compressed", binary],
            "gz": ["application/gzip", "application/x-gzip", binary],
            "tgz": ["application/gzip", "application/x-gzip", "application/x-tar", binary],
            "bz2": ["application/x-bzip2", binary], "7z": ["application/x-7z-compressed", binary],
            "rar": ["application/vnd.rar", "application/x-rar-compressed", binary], "txt": ["text/plain"],
            "csv": ["text/csv", "text/plain"],
            "json": ["application/json"], "xml": ["application/xml", "text/xml"], "wasm": ["application/wasm", binary],
            "apk": ["application/vnd.android.package-archive", binary], "dmg": ["application/x-apple-diskimage", binary],
            "iso": ["application/x-iso9660-image", binary],
            "exe": ["application/x-msdownload", "application/vnd.microsoft.portable-executable", binary],
            "msi": ["application/x-msi", "application/x-ms-installer", binary], "bin": [binary],
            "doc": ["application/msword", binary],
            "docx": ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", binary],
            "xls": ["application/vnd.ms-excel", binary],
            "xlsx": ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", binary],
            "ppt": ["application/vnd.ms-powerpoint", binary],
            "pptx": ["application/vnd.openxmlformats-officedocument.presentationml.presentation", binary],
            "swf": ["application/x-shockwave-flash", binary], "jar": ["application/java-archive", binary],
        ]
    }()
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
        // RFC 9213: CDN-Cache-Control, when present and valid, replaces Cache-Control for this cache.
        let control = controls(headers)
        guard !control.noStore, !control.isPrivate else { return nil }
        guard headers[.setCookie] == nil, headers[.setCookie2] == nil else { return nil }
        var vary = headers[values: .vary].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        guard !vary.contains("*") else { return nil }
        // An encoded body depends on the request's Accept-Encoding whether or not the origin
        // says so: keyed on it, so that a client without gzip never gets the gzip copy.
        if let coding = headers[.contentEncoding], coding.lowercased() != "identity", !vary.contains("accept-encoding") {
            vary.append("accept-encoding")
        }
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
            if settings.level == .aggressive || isStaticFile(path, contentType: headers[.contentType]) {
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

        let ageValue = Double(age(headers[values: .age]))
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

    /// The directives this cache obeys: CDN-Cache-Control when present and a valid Structured
    /// Field (RFC 9213 §2.1), else Cache-Control.
    package static func controls(_ headers: HTTPFields) -> CacheControl {
        let targeted = headers[values: .cdnCacheControl]
        if !targeted.isEmpty, let control = CacheControl(targeted: targeted) { return control }
        return CacheControl(headers[values: .cacheControl])
    }

    /// The Age field's seconds (RFC 9111 §5.1): the first member of the first line, when it is a
    /// non-negative integer (saturated at 2^31); otherwise the field is ignored (0).
    package static func age(_ lines: [String]) -> Int {
        guard let first = lines.first?.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first else { return 0 }
        let value = first.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty, value.utf8.allSatisfy({ (48...57).contains($0) }) else { return 0 }
        return value.count > 10 ? Int(Int32.max) : min(Int(value) ?? 0, Int(Int32.max))
    }

    /// The extension of `path` (before the query), lower case, if its last segment has one.
    package static func fileExtension(_ path: String) -> String? {
        let bare = path.split(separator: "?", maxSplits: 1).first ?? ""
        guard let dot = bare.lastIndex(of: "."), !bare[dot...].contains("/") else { return nil }
        return bare[bare.index(after: dot)...].lowercased()
    }

    /// A static file by its extension, and the response's Content-Type (parameters aside, any
    /// case) is one that extension stands for (Cache Deception Armor). A response without a
    /// Content-Type is not cached by extension.
    package static func isStaticFile(_ path: String, contentType: String?) -> Bool {
        guard let ext = fileExtension(path), let types = staticTypes[ext], let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return mediaType.map(types.contains) ?? false
    }
}

/// The wall clock the cache reads, in seconds since 1970 (RFC 9111 §4.2.3 computes ages from
/// wall-clock times); tests pass one they move by hand.
package struct CacheClock: Sendable {
    package var now: @Sendable () -> Double

    package init(now: @escaping @Sendable () -> Double) { self.now = now }

    package static let system = CacheClock { Date().timeIntervalSince1970 }
}

/// HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, and the two obsolete forms a recipient must accept
/// (RFC 850 and asctime). Parsed strictly, byte by byte: any other spelling — another time zone,
/// a missing weekday, a 1-digit day in IMF-fixdate, `0`, `-1` — is not a date, which for
/// `Expires` means already expired (RFC 9111 §5.3).
package enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// Unix seconds, or nil when `text` is not an HTTP-date.
    package static func parse(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        var reader = Reader(bytes: bytes)
        if let comma = bytes.firstIndex(of: UInt8(ascii: ",")) {
            let name = String(decoding: bytes[..<comma], as: UTF8.self)
            reader.position = comma + 1
            guard reader.take(" ") else { return nil }
            if days.contains(name) {
                // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
                guard let day = reader.digits(2), reader.take(" "), let month = reader.month(), reader.take(" "),
                    let year = reader.digits(4), reader.take(" "), let time = reader.time(), reader.take(" GMT"), reader.atEnd
                else { return nil }
                return seconds(year: year, month: month, day: day, time: time)
            }
            guard longDays.contains(name) else { return nil }
            // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year more than 50 years in
            // the future is in the past.
            guard let day = reader.digits(2), reader.take("-"), let month = reader.month(), reader.take("-"),
                let short = reader.digits(2), reader.take(" "), let time = reader.time(), reader.take(" GMT"), reader.atEnd
            else { return nil }
            let thisYear = Calendar(identifier: .gregorian).component(.year, from: Date())
            var year = thisYear / 100 * 100 + short
            if year > thisYear + 50 { year -= 100 }
            return seconds(year: year, month: month, day: day, time: time)
        }
        // asctime: "Sun Nov  6 08:49:37 1994"
        guard bytes.count >= 4, days.contains(String(decoding: bytes[..<3], as: UTF8.self)) else { return nil }
        reader.position = 3
        guard reader.take(" "), let month = reader.month(), reader.take(" ") else { return nil }
        let day: Int
        if reader.take(" ") {
            guard let digit = reader.digits(1) else { return nil }
            day = digit
        } else {
            guard let digits = reader.digits(2) else { return nil }
            day = digits
        }
        guard reader.take(" "), let time = reader.time(), reader.take(" "), let year = reader.digits(4), reader.atEnd else { return nil }
        return seconds(year: year, month: month, day: day, time: time)
    }

    /// IMF-fixdate for Unix seconds.
    package static func format(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.down))
        var days = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let time = whole - days * 86_400
        let weekday = ((days % 7) + 7 + 3) % 7  // 1970-01-01 was a Thursday
        // Civil date from days since the epoch (H. Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(self.days[weekday]), \(two(day)) \(months[month - 1]) \(year) \(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60)) GMT"
    }

    /// Seconds since 1970 for a proleptic Gregorian date and time, or nil when the day does not
    /// exist (31 Feb) or the time is out of range.
    private static func seconds(year: Int, month: Int, day: Int, time: (Int, Int, Int)) -> Double? {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...lengths[month - 1]).contains(day), time.0 < 24, time.1 < 60, time.2 < 61 else { return nil }
        // Days from civil (H. Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86_400 + time.0 * 3600 + time.1 * 60 + min(time.2, 59))
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func take(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            let matches = literal.withUTF8Buffer { expected in bytes[position..<(position + count)].elementsEqual(expected) }
            if matches { position += count }
            return matches
        }

        mutating func digits(_ count: Int) -> Int? {
            guard position + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[position..<(position + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            position += count
            return value
        }

        mutating func month() -> Int? {
            guard position + 3 <= bytes.count,
                let index = HTTPDate.months.firstIndex(of: String(decoding: bytes[position..<(position + 3)], as: UTF8.self))
            else { return nil }
            position += 3
            return index + 1
        }

        /// "HH:MM:SS"
        mutating func time() -> (Int, Int, Int)? {
            guard let hours = digits(2), take(":"), let minutes = digits(2), take(":"), let seconds = digits(2) else { return nil }
            return (hours, minutes, seconds)
        }
    }
}

extension HTTPField.Name {
    package static let cdnCacheControl = Self("CDN-Cache-Control")!
    package static let cacheStatus = Self("Cache-Status")!
    package static let cacheTag = Self("Cache-Tag")!
}
