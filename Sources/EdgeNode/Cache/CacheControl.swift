import Foundation

/// The directives of a Cache-Control (or CDN-Cache-Control, RFC 9213) field, RFC 9111 §5.2.
struct CacheControl: Equatable, Sendable {
    var maxAge: Int?
    var sharedMaxAge: Int?
    var staleWhileRevalidate: Int?
    var staleIfError: Int?
    var noStore = false
    /// `no-cache` without field names: store, but revalidate before every use.
    var noCache = false
    var isPrivate = false
    var isPublic = false
    var mustRevalidate = false
    var proxyRevalidate = false
    var noTransform = false
    var immutable = false
    /// A request's `only-if-cached`.
    var onlyIfCached = false
    /// A request's `max-stale` (nil: absent; Int.max: any staleness).
    var maxStale: Int?
    var minFresh: Int?

    init() {}

    /// Parses the comma-separated values of every line of the field; unknown directives are ignored.
    init(_ values: [String]) {
        for value in values {
            for part in value.split(separator: ",") {
                let directive = part.trimmingCharacters(in: .whitespaces)
                guard !directive.isEmpty else { continue }
                let name: Substring
                var argument: String?
                if let equals = directive.firstIndex(of: "=") {
                    name = directive[..<equals]
                    argument = directive[directive.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                } else {
                    name = Substring(directive)
                }
                let seconds = argument.flatMap { Int($0) }.map { max(0, $0) }
                switch name.lowercased() {
                case "max-age": maxAge = seconds ?? 0
                case "s-maxage": sharedMaxAge = seconds ?? 0
                case "stale-while-revalidate": staleWhileRevalidate = seconds
                case "stale-if-error": staleIfError = seconds
                // A qualified no-cache/private ("no-cache=Set-Cookie") is treated as the unqualified
                // form, which RFC 9111 §5.2.2.4 allows a cache to do.
                case "no-store": noStore = true
                case "no-cache": noCache = true
                case "private": isPrivate = true
                case "public": isPublic = true
                case "must-revalidate": mustRevalidate = true
                case "proxy-revalidate": proxyRevalidate = true
                case "no-transform": noTransform = true
                case "immutable": immutable = true
                case "only-if-cached": onlyIfCached = true
                case "max-stale": maxStale = argument == nil ? Int.max : seconds
                case "min-fresh": minFresh = seconds
                default: continue
                }
            }
        }
    }

    /// Explicit freshness for a shared cache: s-maxage wins over max-age.
    var sharedFreshness: Int? { sharedMaxAge ?? maxAge }
}
