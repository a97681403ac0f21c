import Foundation

/// Validation and normalisation of DNS records as customers enter them, shared by the
/// coordinator (which refuses bad input) and the nameserver (which serves what was accepted).
public enum DNSRecordContent {
    public static let types = ["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "CAA"]
    public static let proxiableTypes: Set<String> = ["A", "AAAA", "CNAME"]
    public static let maxTXTBytes = 4096

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    /// The normalised content and priority, or `Invalid` naming the field.
    public static func normalise(type: String, content raw: String, priority: Int?) throws -> (content: String, priority: Int?) {
        let content = raw.trimmingCharacters(in: .whitespaces)
        func invalid(_ message: String, field: String = "content") -> Invalid { Invalid(field: field, message: message) }
        switch type {
        case "A":
            guard let address = IPAddress(content), address.isIPv4 else { throw invalid("must be an IPv4 address like 192.0.2.1") }
            return (address.description, nil)
        case "AAAA":
            guard let address = IPAddress(content), !address.isIPv4 else { throw invalid("must be an IPv6 address like 2001:db8::1") }
            return (address.description, nil)
        case "CNAME", "NS":
            guard let host = hostname(content) else { throw invalid("must be a host name like target.example.com") }
            return (host, nil)
        case "MX":
            guard let host = content == "." ? "." : hostname(content) else { throw invalid("must be a mail server host name") }
            let preference = priority ?? 10
            guard (0...65535).contains(preference) else { throw invalid("must be 0 to 65535", field: "priority") }
            return (host, preference)
        case "TXT":
            let text = unquoted(content)
            guard !text.isEmpty, text.utf8.count <= maxTXTBytes else { throw invalid("must be 1 to \(maxTXTBytes) bytes") }
            return (text, nil)
        case "SRV":
            var fields = content.split(separator: " ").map(String.init)
            var preference = priority
            if fields.count == 4 {
                preference = Int(fields[0])
                fields.removeFirst()
            }
            guard fields.count == 3, let weight = Int(fields[0]), let port = Int(fields[1]), (0...65535).contains(weight),
                (0...65535).contains(port), let target = fields[2] == "." ? "." : hostname(fields[2])
            else { throw invalid("must be \"weight port target\", e.g. \"5 5060 sip.example.com\"") }
            let value = preference ?? 10
            guard (0...65535).contains(value) else { throw invalid("must be 0 to 65535", field: "priority") }
            return ("\(weight) \(port) \(target)", value)
        case "CAA":
            let parts = content.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, let flags = Int(parts[0]), (0...255).contains(flags),
                ["issue", "issuewild", "iodef"].contains(parts[1].lowercased())
            else { throw invalid("must be \"flags tag value\", e.g. 0 issue \"letsencrypt.org\"") }
            let value = unquoted(parts[2])
            guard !value.unicodeScalars.contains("\""), value.utf8.count <= 255 else {
                throw invalid("value must be at most 255 bytes without quotes")
            }
            return ("\(flags) \(parts[1].lowercased()) \"\(value)\"", nil)
        default:
            throw invalid("must be one of \(types.joined(separator: ", "))", field: "type")
        }
    }

    /// A record's owner relative to its zone: "@" for the apex, else lower-case labels; "*" may
    /// only be the first label.
    public static func relativeName(_ raw: String, zone: String) throws -> String {
        var name = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name.isEmpty || name == "@" || name == zone { return "@" }
        if name.hasSuffix("." + zone) { name.removeLast(zone.count + 1) }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            let valid =
                (label == "*" && index == 0)
                || ((1...63).contains(label.count)
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            guard valid else { throw Invalid(field: "name", message: "\"\(raw)\" is not a valid record name") }
        }
        guard name.utf8.count + zone.utf8.count + 2 <= 255 else { throw Invalid(field: "name", message: "is too long") }
        return name
    }

    /// A lower-case absolute host name without the final dot, or nil.
    public static func hostname(_ raw: String) -> String? {
        var host = raw.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard !host.isEmpty, host.utf8.count <= 253,
            labels.allSatisfy({ label in
                (1...63).contains(label.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
            })
        else { return nil }
        return host
    }

    /// Without one pair of surrounding quotes, if it has them. Compared as scalars, not
    /// Characters: a combining mark after the opening quote joins it into one Character.
    static func unquoted(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" else { return text }
        return String(String.UnicodeScalarView(scalars.dropFirst().dropLast()))
    }
}
