/// The one spelling of a request path that every edge decision matches on: custom firewall rules,
/// rate-limit paths and page rules. A rule must see the path the origin will serve, or
/// `//admin`, `/./admin`, `/%61dmin` and `/%2e/admin` walk past a rule on `/admin`.
///
/// The normalisation is the one nginx applies before it picks a location (and Apache before it
/// maps a file): percent-encoded octets decoded once (RFC 3986 §2.1, §6.2.2.2 — nginx decodes
/// every octet, not only the unreserved ones, so `%2F` is a separator), dot segments removed
/// (RFC 3986 §5.2.4, §6.2.2.3), and runs of `/` merged (nginx `merge_slashes`). A decoded octet is
/// decoded only once: `%252e` stays `%2e`, as the origin sees it. What is forwarded to the origin
/// and what the cache keys on stay the visitor's exact bytes.
public enum RequestPath {
    /// The path of `target` (everything before the first `?`), normalised. Always starts with "/".
    public static func normalize(_ target: Substring) -> String {
        let path = target.firstIndex(of: "?").map { target[..<$0] } ?? target
        if isNormal(path.utf8) { return path.isEmpty ? "/" : String(path) }
        return normalize(bytes: Array(path.utf8))
    }

    /// The normalised path of a whole target; the target itself (no copy) when it is already a
    /// normal path without a query, as nearly every request's is.
    public static func path(of target: String) -> String {
        if !target.utf8.contains(UInt8(ascii: "?")), isNormal(target[...].utf8) { return target }
        return normalize(target[...])
    }

    /// `normalize(_:)` for a whole target: the normalised path, then the query as it came.
    public static func normalizeTarget(_ target: String) -> String {
        guard let mark = target.firstIndex(of: "?") else { return normalize(target[...]) }
        return normalize(target[..<mark]) + target[mark...]
    }

    /// Already normal: starts with "/", no "%", no "//", no "." segment. The usual path, checked
    /// without allocating.
    private static func isNormal(_ path: Substring.UTF8View) -> Bool {
        guard path.first == UInt8(ascii: "/") else { return false }
        var previous: UInt8 = 0
        var segmentStart = true
        var dots = 0
        for byte in path {
            switch byte {
            case UInt8(ascii: "%"): return false
            case UInt8(ascii: "/"):
                if previous == UInt8(ascii: "/") || (segmentStart && dots > 0) { return false }
                segmentStart = true
                dots = 0
            case UInt8(ascii: "."):
                if segmentStart { dots += 1 }
            default:
                segmentStart = false
                dots = 0
            }
            previous = byte
        }
        return !(segmentStart && dots > 0)
    }

    private static func normalize(bytes: [UInt8]) -> String {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count + 1)
        if bytes.first != UInt8(ascii: "/") { decoded.append(UInt8(ascii: "/")) }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hexValue(bytes[index + 1]),
                let low = hexValue(bytes[index + 2])
            {
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        // Segments after the leading "/": empty ones merged away, "." dropped, ".." pops one.
        var output: [ArraySlice<UInt8>] = []
        let segments = decoded.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var trailingSlash = false
        for (position, segment) in segments.enumerated() {
            let last = position == segments.count - 1
            switch Array(segment) {
            case []:
                trailingSlash = last && !output.isEmpty
            case [UInt8(ascii: ".")]:
                trailingSlash = true
            case [UInt8(ascii: "."), UInt8(ascii: ".")]:
                if !output.isEmpty { output.removeLast() }
                trailingSlash = true
            default:
                output.append(segment)
                trailingSlash = false
            }
        }
        var result: [UInt8] = [UInt8(ascii: "/")]
        for (position, segment) in output.enumerated() {
            if position > 0 { result.append(UInt8(ascii: "/")) }
            result += segment
        }
        if trailingSlash, !output.isEmpty { result.append(UInt8(ascii: "/")) }
        return String(decoding: result, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
