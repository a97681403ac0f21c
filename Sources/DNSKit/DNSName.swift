/// A domain name as labels of raw bytes, case kept as received; compare with `key`.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public private(set) var labels: [[UInt8]]

    public static let root = DNSName(labels: [])
    public static let maxLength = 255

    public init(labels: [[UInt8]]) { self.labels = labels }

    /// Parses presentation form ("www.Example.com." or without the final dot); nil when a label
    /// is empty or longer than 63 bytes or the name longer than 255.
    public init?(_ text: String) {
        var trimmed = Substring(text)
        if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty {
            labels = []
            return
        }
        var labels: [[UInt8]] = []
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count) else { return nil }
            labels.append(bytes)
        }
        self.labels = labels
        guard wireLength <= Self.maxLength else { return nil }
    }

    public var wireLength: Int { labels.reduce(1) { $0 + $1.count + 1 } }

    /// Lower-cased dotted form without the final dot: the lookup key ("" for the root).
    public var key: String {
        labels.map { String(decoding: $0.map(Self.lower), as: UTF8.self) }.joined(separator: ".")
    }

    public var description: String {
        labels.isEmpty ? "." : labels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".") + "."
    }

    public var parent: DNSName? { labels.isEmpty ? nil : DNSName(labels: Array(labels.dropFirst())) }

    public func isSubdomain(of zone: DNSName) -> Bool {
        guard labels.count >= zone.labels.count else { return false }
        return zip(labels.suffix(zone.labels.count), zone.labels).allSatisfy { Self.equal($0, $1) }
    }

    public func prepending(_ label: String) -> DNSName {
        DNSName(labels: [Array(label.utf8)] + labels)
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.labels.count == rhs.labels.count && zip(lhs.labels, rhs.labels).allSatisfy { equal($0, $1) }
    }

    public func hash(into hasher: inout Hasher) {
        for label in labels {
            for byte in label { hasher.combine(Self.lower(byte)) }
            hasher.combine(0 as UInt8)
        }
    }

    static func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte | 0x20 : byte }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { lower($0) == lower($1) }
    }
}
