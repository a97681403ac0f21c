/// Comparisons of request text with lower-case patterns, ignoring ASCII case, without allocating
/// (firewall rules run on every request; lower-casing a User-Agent each time shows in profiles).
package enum ASCIICase {
    @inline(__always)
    package static func same(_ byte: UInt8, _ lower: UInt8) -> Bool {
        byte == lower || ((65...90).contains(byte) && byte + 32 == lower)
    }

    package static func equals<C: Collection<UInt8>>(_ bytes: C, _ lower: [UInt8]) -> Bool {
        bytes.count == lower.count && zip(bytes, lower).allSatisfy { same($0, $1) }
    }

    package static func hasPrefix<C: Collection<UInt8>>(_ bytes: C, _ lower: [UInt8]) -> Bool {
        bytes.count >= lower.count && zip(bytes, lower).allSatisfy { same($0, $1) }
    }

    package static func hasSuffix<C: BidirectionalCollection<UInt8>>(_ bytes: C, _ lower: [UInt8]) -> Bool {
        bytes.count >= lower.count && zip(bytes.reversed(), lower.reversed()).allSatisfy { same($0, $1) }
    }

    package static func contains<C: Collection<UInt8>>(_ bytes: C, _ lower: [UInt8]) -> Bool {
        guard let first = lower.first else { return true }
        guard bytes.count >= lower.count else { return false }
        var start = bytes.startIndex
        let last = bytes.index(bytes.endIndex, offsetBy: -lower.count)
        while start <= last {
            if same(bytes[start], first) {
                var probe = bytes.index(after: start)
                var offset = 1
                while offset < lower.count && same(bytes[probe], lower[offset]) {
                    probe = bytes.index(after: probe)
                    offset += 1
                }
                if offset == lower.count { return true }
            }
            start = bytes.index(after: start)
        }
        return false
    }
}
