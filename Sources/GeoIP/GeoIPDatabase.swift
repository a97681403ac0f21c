import DCDNCore
import Foundation

/// Country lookup for IPv4 and IPv6 from Debian's `tor-geoipdb` range files, with each
/// country's reference location from tzdata's `zone.tab`, so that callers can measure distance.
///
/// Ranges are kept as sorted parallel arrays (about 10 bytes per IPv4 range, 34 per IPv6 range)
/// and searched with a binary search: no allocation per lookup.
public final class GeoIPDatabase: Sendable {
    public static let defaultIPv4Path = "/usr/share/tor/geoip"
    public static let defaultIPv6Path = "/usr/share/tor/geoip6"
    public static let defaultLocationsPath = "/usr/share/zoneinfo/zone.tab"

    private let v4Starts: [UInt32]
    private let v4Ends: [UInt32]
    private let v4Countries: [UInt16]
    private let v6Starts: [UInt128]
    private let v6Ends: [UInt128]
    private let v6Countries: [UInt16]
    private let locations: [UInt16: Coordinate]

    public var ipv4RangeCount: Int { v4Starts.count }
    public var ipv6RangeCount: Int { v6Starts.count }

    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads the files; a missing IPv6 or locations file leaves that part empty.
    public convenience init(
        ipv4Path: String = defaultIPv4Path, ipv6Path: String = defaultIPv6Path, locationsPath: String = defaultLocationsPath
    ) throws {
        guard let v4 = FileManager.default.contents(atPath: ipv4Path) else {
            throw LoadError(description: "GeoIP file \(ipv4Path) not found (apt-get install tor-geoipdb)")
        }
        let v6 = FileManager.default.contents(atPath: ipv6Path) ?? Data()
        let zones = FileManager.default.contents(atPath: locationsPath) ?? Data()
        try self.init(ipv4: v4, ipv6: v6, locations: zones)
    }

    public init(ipv4: Data, ipv6: Data, locations zoneTab: Data) throws {
        var v4: [(UInt32, UInt32, UInt16)] = []
        v4.reserveCapacity(400_000)
        Self.forEachRange(ipv4) { start, end, country in
            guard let start = UInt32(Self.ascii(start)), let end = UInt32(Self.ascii(end)) else { return }
            v4.append((start, end, country))
        }
        v4.sort { $0.0 < $1.0 }
        v4Starts = v4.map(\.0)
        v4Ends = v4.map(\.1)
        v4Countries = v4.map(\.2)

        var v6: [(UInt128, UInt128, UInt16)] = []
        v6.reserveCapacity(300_000)
        Self.forEachRange(ipv6) { start, end, country in
            guard let start = IPAddress(Self.ascii(start)).map(Self.integer), let end = IPAddress(Self.ascii(end)).map(Self.integer) else {
                return
            }
            v6.append((start, end, country))
        }
        v6.sort { $0.0 < $1.0 }
        v6Starts = v6.map(\.0)
        v6Ends = v6.map(\.1)
        v6Countries = v6.map(\.2)

        var locations: [UInt16: Coordinate] = [:]
        for line in String(decoding: zoneTab, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t")
            guard fields.count >= 2, let country = Self.pack(fields[0]), locations[country] == nil,
                let coordinate = Coordinate(iso6709: fields[1])
            else { continue }
            locations[country] = coordinate
        }
        self.locations = locations
        guard !v4Starts.isEmpty else { throw LoadError(description: "GeoIP data has no IPv4 ranges") }
    }

    /// The two-letter country of an address, or nil (private, reserved, unknown).
    public func country(of address: IPAddress) -> String? {
        packedCountry(of: address).map(Self.unpack)
    }

    /// The country as its two ASCII letters in one UInt16: for hot paths that only compare it.
    public func packedCountry(of address: IPAddress) -> UInt16? {
        let address = address.unmapped
        let packed: UInt16?
        if address.isIPv4 {
            let value = address.bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            packed = Self.find(value, starts: v4Starts, ends: v4Ends, countries: v4Countries)
        } else {
            packed = Self.find(Self.integer(address), starts: v6Starts, ends: v6Ends, countries: v6Countries)
        }
        return packed
    }

    /// The packed country of an IPv4 address given as an integer.
    public func packedCountry(ipv4 value: UInt32) -> UInt16? {
        Self.find(value, starts: v4Starts, ends: v4Ends, countries: v4Countries)
    }

    /// The packed country of an IPv6 address given as an integer.
    public func packedCountry(ipv6 value: UInt128) -> UInt16? {
        Self.find(value, starts: v6Starts, ends: v6Ends, countries: v6Countries)
    }

    /// Two letters to the packed form `packedCountry` returns ("de" and "DE" alike).
    public static func packed(_ code: String) -> UInt16? { pack(Substring(code)) }

    /// The packed form back to two upper-case letters.
    public static func code(_ packed: UInt16) -> String { unpack(packed) }

    /// The reference location of a country (its first tz zone's city).
    public func location(ofCountry code: String) -> Coordinate? {
        Self.pack(Substring(code)).flatMap { locations[$0] }
    }

    private static func find<T: Comparable>(_ value: T, starts: [T], ends: [T], countries: [UInt16]) -> UInt16? {
        // The last range starting at or before the value.
        var low = 0
        var high = starts.count
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] <= value { low = middle + 1 } else { high = middle }
        }
        guard low > 0, value <= ends[low - 1] else { return nil }
        return countries[low - 1]
    }

    static func integer(_ address: IPAddress) -> UInt128 {
        address.bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
    }

    static func pack(_ text: Substring) -> UInt16? {
        let scalars = Array(text.uppercased().utf8)
        guard scalars.count == 2, scalars.allSatisfy({ (65...90).contains($0) }) else { return nil }
        return UInt16(scalars[0]) << 8 | UInt16(scalars[1])
    }

    static func unpack(_ value: UInt16) -> String {
        String(decoding: [UInt8(value >> 8), UInt8(value & 0xff)], as: UTF8.self)
    }

    /// Calls `body` with the start, end and packed country of each "start,end,CC" line; comments
    /// and malformed lines are skipped. Works on bytes: the files have ~660,000 lines.
    private static func forEachRange(_ data: Data, _ body: (ArraySlice<UInt8>, ArraySlice<UInt8>, UInt16) -> Void) {
        let bytes = [UInt8](data)
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            guard lineEnd > lineStart, bytes[lineStart] != 0x23 else { continue }  // "#"
            let line = bytes[lineStart..<lineEnd]
            guard let first = line.firstIndex(of: 0x2C), let second = line[(first + 1)...].firstIndex(of: 0x2C),
                lineEnd - second - 1 >= 2
            else { continue }
            let a = bytes[second + 1] & 0xDF
            let b = bytes[second + 2] & 0xDF
            guard (65...90).contains(a), (65...90).contains(b) else { continue }
            body(line[..<first], line[(first + 1)..<second], UInt16(a) << 8 | UInt16(b))
        }
    }

    private static func ascii(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

/// A point on Earth in degrees.
public struct Coordinate: Sendable, Equatable, Codable {
    public var latitude: Double
    public var longitude: Double

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }

    /// ISO 6709 as in zone.tab: ±DDMM±DDDMM or ±DDMMSS±DDDMMSS.
    init?(iso6709 text: Substring) {
        let characters = Array(text)
        guard let split = characters.dropFirst().firstIndex(where: { $0 == "+" || $0 == "-" }) else { return nil }
        func degrees(_ part: ArraySlice<Character>, degreeDigits: Int) -> Double? {
            guard let sign = part.first, sign == "+" || sign == "-" else { return nil }
            let digits = String(part.dropFirst())
            guard digits.count == degreeDigits + 2 || digits.count == degreeDigits + 4, digits.allSatisfy(\.isNumber) else { return nil }
            let d = Double(digits.prefix(degreeDigits))!
            let m = Double(digits.dropFirst(degreeDigits).prefix(2))!
            let s = digits.count == degreeDigits + 4 ? Double(digits.suffix(2))! : 0
            return (sign == "-" ? -1 : 1) * (d + m / 60 + s / 3600)
        }
        guard let latitude = degrees(characters[..<split], degreeDigits: 2),
            let longitude = degrees(characters[split...], degreeDigits: 3)
        else { return nil }
        self.init(latitude: latitude, longitude: longitude)
    }

    /// Great-circle distance in kilometres (haversine).
    public func distance(to other: Coordinate) -> Double {
        let radians = Double.pi / 180
        let dLat = (other.latitude - latitude) * radians
        let dLon = (other.longitude - longitude) * radians
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(latitude * radians) * cos(other.latitude * radians) * sin(dLon / 2) * sin(dLon / 2)
        return 6371 * 2 * atan2(a.squareRoot(), (1 - a).squareRoot())
    }
}
