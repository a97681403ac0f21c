import DCDNCore
import Foundation
import GeoIP
import HTTPTypes
import NodeProtocol

/// What the firewall knows of a request before answering it.
package struct RequestFacts {
    package let head: HTTPRequest
    package let client: ClientIP?
    /// The country packed as by `GeoIPDatabase`, nil when unknown.
    package let packedCountry: UInt16?
    /// Two upper-case letters (made only for the rules that ask).
    package var country: String? { packedCountry.map(GeoIPDatabase.code) }
    package let host: String
    /// Path and query, as the visitor sent them.
    package let target: String
    /// The path as the origin will resolve it (`RequestPath.normalize`): what rules match.
    package let path: String

    /// `path` is `RequestPath.normalize(target)` when the caller has not computed it already.
    package init(head: HTTPRequest, client: ClientIP?, packedCountry: UInt16?, host: String, target: String, path: String? = nil) {
        self.head = head
        self.client = client
        self.packedCountry = packedCountry
        self.host = host
        self.target = target
        self.path = path ?? RequestPath.path(of: target)
    }

    /// The normalised path and the query as sent: what the `uri` field matches.
    package var uri: String { query.isEmpty ? path : path + "?" + query }
    package var query: Substring {
        guard let mark = target.firstIndex(of: "?") else { return "" }
        return target[target.index(after: mark)...]
    }
}

/// A customer's rule compiled once when configuration arrives: field, test and action. A class, so
/// that trying the rules on each request copies nothing.
package final class FirewallRule: Sendable {
    package enum Field: Sendable {
        case ip, country, method, host, path, query, uri, userAgent, referer
        case header(HTTPField.Name)
        case cookie(String)
    }

    /// Patterns are lower case (as bytes); requests are compared ignoring ASCII case.
    package enum Test: @unchecked Sendable {  // Regex is immutable once compiled
        case equals([UInt8])
        case contains([UInt8])
        case startsWith([UInt8])
        case endsWith([UInt8])
        case matches(Regex<AnyRegexOutput>)
        case oneOf(Set<String>)
        case inRanges(IPRangeSet)
    }

    package enum Action: String, Sendable {
        case block, challenge, log, allow
    }

    package let id: UUID
    package let field: Field
    package let test: Test
    package let negated: Bool
    package let action: Action
    /// The test's address ranges when it has them (read without unpacking the test each time).
    package let ranges: IPRangeSet?

    /// nil for a rule this node cannot evaluate (the coordinator validates, so only a newer
    /// coordinator's rule): it is skipped.
    package init?(_ config: FirewallRuleConfig) {
        guard let action = Action(rawValue: config.action) else { return nil }
        let field: Field
        switch config.field {
        case "ip": field = .ip
        case "country": field = .country
        case "method": field = .method
        case "host": field = .host
        case "path": field = .path
        case "query": field = .query
        case "uri": field = .uri
        case "user_agent": field = .userAgent
        case "referer": field = .referer
        case let name where name.hasPrefix("header:"):
            guard let header = HTTPField.Name(String(name.dropFirst(7))) else { return nil }
            field = .header(header)
        case let name where name.hasPrefix("cookie:"): field = .cookie(String(name.dropFirst(7)))
        default: return nil
        }
        let value = config.value.lowercased()
        var negated = false
        let test: Test
        switch config.operator {
        case "equals", "not_equals":
            negated = config.operator == "not_equals"
            if case .ip = field, CIDR(value) != nil {
                test = .inRanges(IPRangeSet([value]))
            } else {
                test = .equals(Array(value.utf8))
            }
        case "contains", "not_contains":
            negated = config.operator == "not_contains"
            test = .contains(Array(value.utf8))
        case "starts_with": test = .startsWith(Array(value.utf8))
        case "ends_with": test = .endsWith(Array(value.utf8))
        case "matches":
            guard let regex = try? Regex(config.value).ignoresCase() else { return nil }
            test = .matches(regex)
        case "in", "not_in":
            negated = config.operator == "not_in"
            let items = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if case .ip = field {
                test = .inRanges(IPRangeSet(items))
            } else {
                test = .oneOf(Set(items))
            }
        default: return nil
        }
        self.id = config.id
        self.field = field
        self.test = test
        if case .inRanges(let ranges) = test { self.ranges = ranges } else { self.ranges = nil }
        self.negated = negated
        self.action = action
    }

    package func matches(_ facts: RequestFacts) -> Bool {
        if let ranges {
            guard let client = facts.client else { return negated }
            return ranges.contains(client) != negated
        }
        let value: Substring? =
            switch field {
            case .ip: facts.client.map { Substring($0.description) }
            case .country: facts.country?[...]
            case .method: facts.head.method.rawValue[...]
            case .host: facts.host[...]
            case .path: facts.path[...]
            case .query: facts.query
            case .uri: facts.uri[...]
            case .userAgent: facts.head.headerFields[.userAgent]?[...]
            case .referer: facts.head.headerFields[.referer]?[...]
            case .header(let name): facts.head.headerFields[name]?[...]
            case .cookie(let name): facts.head.headerFields.cookie(name)?[...]
            }
        return holds(value) != negated
    }

    private func holds(_ value: Substring?) -> Bool {
        if case .matches(let regex) = test {
            guard let value else { return false }
            return (try? regex.firstMatch(in: value)) != nil
        }
        let bytes = (value ?? "").utf8
        switch test {
        case .equals(let expected): return ASCIICase.equals(bytes, expected)
        case .contains(let part): return value != nil && ASCIICase.contains(bytes, part)
        case .startsWith(let prefix): return value != nil && ASCIICase.hasPrefix(bytes, prefix)
        case .endsWith(let suffix): return value != nil && ASCIICase.hasSuffix(bytes, suffix)
        case .oneOf(let items): return items.contains((value ?? "").lowercased())
        case .matches, .inRanges: return false
        }
    }
}

/// A rate limit compiled: its path pattern (`*` wildcards) as a prefix or a regex.
package final class RateLimit: @unchecked Sendable {  // Regex is immutable once compiled
    package let id: UUID
    package let pathPrefix: String?
    package let pattern: Regex<AnyRegexOutput>?
    package let requests: Int
    package let period: Int
    package let action: FirewallRule.Action
    package let duration: Int

    package init?(_ config: RateLimitRuleConfig) {
        guard config.requests > 0, config.period > 0 else { return nil }
        id = config.id
        requests = config.requests
        period = config.period
        duration = config.duration
        action = config.action == "challenge" ? .challenge : .block
        // "/api/*" is a prefix; other wildcards become a regex once.
        if let path = config.path, path != "*", path != "/*" {
            if path.hasSuffix("*"), !path.dropLast().contains("*") {
                pathPrefix = String(path.dropLast())
                pattern = nil
            } else if !path.contains("*") {
                pathPrefix = nil
                pattern = try? Regex("^" + NSRegularExpression.escapedPattern(for: path) + "$")
            } else {
                pathPrefix = nil
                let escaped = path.split(separator: "*", omittingEmptySubsequences: false).map {
                    NSRegularExpression.escapedPattern(for: String($0))
                }
                pattern = try? Regex("^" + escaped.joined(separator: ".*") + "$")
            }
        } else {
            pathPrefix = nil
            pattern = nil
        }
    }

    package func applies(to path: Substring) -> Bool {
        if let pathPrefix { return path.hasPrefix(pathPrefix) }
        if let pattern { return (try? pattern.wholeMatch(in: path)) != nil }
        return true
    }
}
