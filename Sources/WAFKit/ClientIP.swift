import DCDNCore
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A visitor's address as one integer: no allocation on the request path, cheap to hash and to
/// compare with ranges. IPv4 (also when it arrives IPv4-mapped) keeps `isIPv4`.
package struct ClientIP: Hashable, Sendable, CustomStringConvertible {
    package let value: UInt128
    package let isIPv4: Bool

    package init(value: UInt128, isIPv4: Bool) {
        self.value = value
        self.isIPv4 = isIPv4
    }

    package init?(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4):
            self.init(value: UInt128(UInt32(bigEndian: v4.address.sin_addr.s_addr)), isIPv4: true)
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            let value = withUnsafeBytes(of: &raw) { bytes in bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) } }
            if value >> 32 == 0xffff {
                self.init(value: value & 0xffff_ffff, isIPv4: true)
            } else {
                self.init(value: value, isIPv4: false)
            }
        default:
            return nil
        }
    }

    package init(_ address: IPAddress) {
        let plain = address.unmapped
        self.init(value: plain.bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }, isIPv4: plain.isIPv4)
    }

    package var address: IPAddress {
        let count = isIPv4 ? 4 : 16
        return IPAddress(bytes: (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - $0))) })!
    }

    package var description: String { address.description }

    /// The network a clearance is bound to: a /24 for IPv4, a /64 for IPv6 (one customer line).
    package var clearancePrefix: String {
        isIPv4 ? "4:\(value >> 8)" : "6:\(value >> 64)"
    }
}

/// Address ranges to test visitors against (allow and block lists): CIDRs as integer bounds,
/// sorted and merged, searched by bisection (a 1000-entry block list costs ten comparisons).
package struct IPRangeSet: Sendable {
    private let v4: [ClosedRange<UInt128>]
    private let v6: [ClosedRange<UInt128>]

    package init(_ entries: [String]) {
        var v4: [ClosedRange<UInt128>] = []
        var v6: [ClosedRange<UInt128>] = []
        for entry in entries {
            guard let cidr = CIDR(entry.trimmingCharacters(in: .whitespaces)) else { continue }
            let network = ClientIP(cidr.network)
            let bits = network.isIPv4 ? 32 : 128
            let hostBits = bits - min(cidr.prefixLength, bits)
            let mask: UInt128 = hostBits == 128 ? .max : (UInt128(1) << hostBits) - 1
            let low = network.value & ~mask
            let range = low...(low | mask)
            if network.isIPv4 { v4.append(range) } else { v6.append(range) }
        }
        self.v4 = Self.merged(v4)
        self.v6 = Self.merged(v6)
    }

    /// Sorted by start, overlapping and adjacent ranges joined.
    private static func merged(_ ranges: [ClosedRange<UInt128>]) -> [ClosedRange<UInt128>] {
        var result: [ClosedRange<UInt128>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, last.upperBound == .max || range.lowerBound <= last.upperBound + 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }

    package var isEmpty: Bool { v4.isEmpty && v6.isEmpty }

    package func contains(_ client: ClientIP) -> Bool {
        let ranges = client.isIPv4 ? v4 : v6
        // The last range starting at or before the address.
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].lowerBound <= client.value { low = middle + 1 } else { high = middle }
        }
        return low > 0 && ranges[low - 1].upperBound >= client.value
    }
}
