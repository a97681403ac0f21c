import Foundation
import RawStructuredFieldValues

/// The directives of a Cache-Control (or CDN-Cache-Control, RFC 9213) field, RFC 9111 §5.2.
package struct CacheControl: Equatable, Sendable {
    package var maxAge: Int?
    package var sharedMaxAge: Int?
    package var staleWhileRevalidate: Int?
    package var staleIfError: Int?
    package var noStore = false
    /// `no-cache` without field names: store, but revalidate before every use.
    package var noCache = false
    package var isPrivate = false
    package var isPublic = false
    package var mustRevalidate = false
    package var proxyRevalidate = false
    package var noTransform = false
    /// A request's `max-stale` (nil: absent; Int.max: any staleness).
    package var maxStale: Int?

    package init() {}

    /// Parses the comma-separated values of every line of the field; unknown directives are
    /// ignored. Works on bytes: it runs for every response the edge serves.
    package init(_ values: [String]) {
        for value in values {
            var value = value
            value.withUTF8 { bytes in
                var start = 0
                while start < bytes.count {
                    var end = start
                    var quoted = false
                    while end < bytes.count, bytes[end] != UInt8(ascii: ",") || quoted {
                        if bytes[end] == UInt8(ascii: "\"") { quoted.toggle() }
                        end += 1
                    }
                    apply(UnsafeBufferPointer(rebasing: bytes[start..<end]))
                    start = end + 1
                }
            }
        }
    }

    /// One directive, `name` or `name=value` (value possibly quoted), surrounding spaces allowed.
    private mutating func apply(_ directive: UnsafeBufferPointer<UInt8>) {
        let space = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var lower = 0
        var upper = directive.count
        while lower < upper, space(directive[lower]) { lower += 1 }
        while upper > lower, space(directive[upper - 1]) { upper -= 1 }
        guard lower < upper else { return }
        var equals = lower
        while equals < upper, directive[equals] != UInt8(ascii: "=") { equals += 1 }
        var nameEnd = equals
        while nameEnd > lower, space(directive[nameEnd - 1]) { nameEnd -= 1 }
        let name = String(decoding: UnsafeBufferPointer(rebasing: directive[lower..<nameEnd]), as: UTF8.self).lowercased()
        var argument: Int?
        var hasArgument = false
        if equals < upper {
            hasArgument = true
            var number = 0
            var digits = 0
            var negative = false
            for byte in directive[(equals + 1)..<upper] {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    number = number &* 10 &+ Int(byte - UInt8(ascii: "0"))
                    digits += 1
                case UInt8(ascii: "-"): negative = true
                case UInt8(ascii: "\""), UInt8(ascii: " "), UInt8(ascii: "\t"): continue
                default: digits = -1_000
                }
            }
            // Saturate huge values (RFC 9111 §1.2.2: at least 2^31) rather than overflow.
            if digits > 0 { argument = negative ? 0 : (digits > 10 ? Int(Int32.max) : min(number, Int(Int32.max))) }
        }
        switch name {
        // RFC 9111 §4.2.1: a directive given twice with different values makes the response
        // stale; a value that is not a delta-seconds does too.
        case "max-age": maxAge = Self.once(maxAge, argument ?? 0)
        case "s-maxage": sharedMaxAge = Self.once(sharedMaxAge, argument ?? 0)
        case "stale-while-revalidate": staleWhileRevalidate = Self.once(staleWhileRevalidate, argument ?? 0)
        case "stale-if-error": staleIfError = Self.once(staleIfError, argument ?? 0)
        // A qualified no-cache/private ("no-cache=Set-Cookie") is treated as the unqualified
        // form, which RFC 9111 §5.2.2.4 allows a cache to do.
        case "no-store": noStore = true
        case "no-cache": noCache = true
        case "private": isPrivate = true
        case "public": isPublic = true
        case "must-revalidate": mustRevalidate = true
        case "proxy-revalidate": proxyRevalidate = true
        case "no-transform": noTransform = true
        case "max-stale": maxStale = hasArgument ? argument : Int.max
        default: return
        }
    }

    /// A delta-seconds directive's value when it appears again: the same value stands, another
    /// one means zero.
    private static func once(_ current: Int?, _ new: Int) -> Int { current.map { $0 == new ? new : 0 } ?? new }

    /// A targeted field (`CDN-Cache-Control`, RFC 9213 §2.1): the field lines joined and parsed as
    /// an RFC 8941 Dictionary; nil when it does not parse or is empty, and the cache then ignores
    /// it as a whole. Delta-seconds directives must be Integers and the others Booleans (a
    /// String argument, as in `no-cache="set-cookie"`, counts as the directive); a member of
    /// another type is not consumed (§2.1).
    package init?(targeted lines: [String]) {
        let joined = lines.joined(separator: ", ")
        guard !joined.allSatisfy({ $0 == " " || $0 == "\t" }) else { return nil }
        var parser = StructuredFieldValueParser(Array(joined.utf8))
        guard let dictionary = try? parser.parseDictionaryFieldValue() else { return nil }
        self.init()
        for (name, member) in dictionary {
            guard case .item(let item) = member else { continue }
            let bare = item.bareItem
            var seconds: Int? {
                if case .integer(let value) = bare { return value >= 0 ? min(value, Int(Int32.max)) : nil } else { return nil }
            }
            var flag: Bool {
                switch bare {
                case .bool(let value): value
                case .string: true
                default: false
                }
            }
            switch name {
            case "max-age": maxAge = seconds
            case "s-maxage": sharedMaxAge = seconds
            case "stale-while-revalidate": staleWhileRevalidate = seconds
            case "stale-if-error": staleIfError = seconds
            case "no-store": noStore = flag
            case "no-cache": noCache = flag
            case "private": isPrivate = flag
            case "public": isPublic = flag
            case "must-revalidate": mustRevalidate = flag
            case "proxy-revalidate": proxyRevalidate = flag
            case "no-transform": noTransform = flag
            default: continue
            }
        }
    }

    /// Explicit freshness for a shared cache: s-maxage wins over max-age.
    package var sharedFreshness: Int? { sharedMaxAge ?? maxAge }
}
