import Foundation

/// A page rule as the coordinator stores it and the edge applies it (product guide §3): a URL
/// pattern with `*` wildcards and the actions taken when a request matches. Rules are tried in
/// order and the first match wins.
public struct PageRuleConfig: Codable, Sendable, Equatable {
    public var pattern: String
    /// standard, aggressive or bypass ("Cache Bypass" is `bypass`).
    public var cacheLevel: String?
    /// Seconds; overrides the origin's freshness for responses the edge stores.
    public var edgeTtl: Int?
    /// Seconds; the max-age visitors' browsers get.
    public var browserTtl: Int?
    /// Redirect target; `$1`… are the pattern's wildcards in order.
    public var forwardingUrl: String?
    /// 301 or 302.
    public var forwardingStatus: Int?
    public var alwaysHttps: Bool?

    public init(
        pattern: String, cacheLevel: String? = nil, edgeTtl: Int? = nil, browserTtl: Int? = nil, forwardingUrl: String? = nil,
        forwardingStatus: Int? = nil, alwaysHttps: Bool? = nil
    ) {
        self.pattern = pattern
        self.cacheLevel = cacheLevel
        self.edgeTtl = edgeTtl
        self.browserTtl = browserTtl
        self.forwardingUrl = forwardingUrl
        self.forwardingStatus = forwardingStatus
        self.alwaysHttps = alwaysHttps
    }
}

/// A compiled page-rule URL pattern. `*` matches any run of characters (also none); the
/// pattern is matched against `host/path?query`, case-insensitively in the host. A pattern
/// starting with `http://` or `https://` matches that scheme only. A pattern without a path
/// matches the host's `/` only: write `example.com/*` for a whole site.
public struct PageRulePattern: Sendable, Equatable {
    public let scheme: String?
    /// Literal pieces between the wildcards: n wildcards make n + 1 pieces.
    let pieces: [[UInt8]]

    public static let maxLength = 255
    public static let maxWildcards = 8

    /// Nil when the pattern is empty, too long, has too many wildcards or contains whitespace.
    public init?(_ text: String) {
        var rest = text.trimmingCharacters(in: .whitespaces)
        guard !rest.isEmpty, rest.utf8.count <= Self.maxLength, !rest.contains(where: \.isWhitespace) else { return nil }
        var scheme: String?
        for candidate in ["http://", "https://"] where rest.lowercased().hasPrefix(candidate) {
            scheme = String(candidate.dropLast(3))
            rest = String(rest.dropFirst(candidate.count))
        }
        if !rest.contains("/") { rest += "/" }
        // The host part compares case-insensitively: lower-case it in the pattern.
        let slash = rest.firstIndex(of: "/")!
        rest = rest[..<slash].lowercased() + rest[slash...]
        let pieces = rest.split(separator: "*", omittingEmptySubsequences: false).map { Array($0.utf8) }
        guard pieces.count - 1 <= Self.maxWildcards else { return nil }
        self.scheme = scheme
        self.pieces = pieces
    }

    /// The wildcards' captures when `url` (`host/path?query`, host in lower case) matches.
    /// Each middle piece takes its earliest occurrence and the last piece must end the URL,
    /// which decides a `*`-only pattern in linear time (no backtracking).
    public func match(scheme requestScheme: String, url: String) -> [String]? {
        if let scheme, scheme != requestScheme { return nil }
        let text = Array(url.utf8)
        guard text.starts(with: pieces[0]) else { return nil }
        if pieces.count == 1 { return text.count == pieces[0].count ? [] : nil }
        var position = pieces[0].count
        var captures: [String] = []
        for piece in pieces.dropFirst().dropLast() {
            guard let found = Self.find(piece, in: text, from: position) else { return nil }
            captures.append(String(decoding: text[position..<found], as: UTF8.self))
            position = found + piece.count
        }
        let last = pieces[pieces.count - 1]
        guard text.count - last.count >= position, text[(text.count - last.count)...].elementsEqual(last) else { return nil }
        captures.append(String(decoding: text[position..<(text.count - last.count)], as: UTF8.self))
        return captures
    }

    private static func find(_ piece: [UInt8], in text: [UInt8], from start: Int) -> Int? {
        guard !piece.isEmpty else { return start }
        var index = start
        while index + piece.count <= text.count {
            if text[index] == piece[0], text[index..<(index + piece.count)].elementsEqual(piece) { return index }
            index += 1
        }
        return nil
    }

    /// `$1`…`$9` replaced by the captures (missing ones by nothing).
    public static func substitute(_ template: String, captures: [String]) -> String {
        var result = ""
        var characters = template.makeIterator()
        while let character = characters.next() {
            guard character == "$" else {
                result.append(character)
                continue
            }
            guard let next = characters.next() else {
                result.append("$")
                break
            }
            if let digit = next.wholeNumberValue, digit >= 1 {
                if digit <= captures.count { result += captures[digit - 1] }
            } else {
                result.append("$")
                result.append(next)
            }
        }
        return result
    }
}
