import DCDNCore
import Foundation
import Testing

@testable import GeoIP

@Suite("GeoIP")
struct GeoIPTests {
    static let sample = try! GeoIPDatabase(
        ipv4: Data(
            """
            # comment
            16777216,16777471,AU
            134744064,134744319,US
            3232235520,3232301055,ZZ
            garbage line
            1311244288,1311309823,de
            """.utf8),
        ipv6: Data("2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\n2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,IE\n".utf8),
        locations: Data(
            "# c\tx\tx\nDE\t+5230+01322\tEurope/Berlin\nUS\t+404251-0740023\tAmerica/New_York\nUS\t+3412-11815\tAmerica/Los_Angeles\n".utf8)
    )

    @Test("IPv4, IPv6 and IPv4-mapped addresses find their country")
    func lookups() {
        #expect(Self.sample.country(of: IPAddress("1.0.0.1")!) == "AU")
        #expect(Self.sample.country(of: IPAddress("8.8.8.8")!) == "US")
        #expect(Self.sample.country(of: IPAddress("78.40.0.1")!) == "DE")
        #expect(Self.sample.country(of: IPAddress("::ffff:8.8.8.8")!) == "US")
        #expect(Self.sample.country(of: IPAddress("2001:200::1")!) == "JP")
        #expect(Self.sample.country(of: IPAddress("2a00:1450:4001::1")!) == "IE")
        #expect(Self.sample.country(of: IPAddress("9.9.9.9")!) == nil, "between ranges")
        #expect(Self.sample.country(of: IPAddress("2001:db8::1")!) == nil)
        #expect(Self.sample.ipv4RangeCount == 4, "the garbage line is skipped")
    }

    @Test("country locations come from zone.tab, first zone wins")
    func locations() throws {
        let berlin = try #require(Self.sample.location(ofCountry: "DE"))
        #expect(abs(berlin.latitude - 52.5) < 0.01)
        #expect(abs(berlin.longitude - 13.3667) < 0.01)
        let newYork = try #require(Self.sample.location(ofCountry: "us"))
        #expect(abs(newYork.latitude - 40.7142) < 0.01)
        #expect(abs(newYork.longitude + 74.0064) < 0.01)
        #expect(abs(berlin.distance(to: newYork) - 6385) < 50)
    }

    @Test("Debian's tor-geoipdb loads and answers", .enabled(if: FileManager.default.fileExists(atPath: GeoIPDatabase.defaultIPv4Path)))
    func debianDatabase() throws {
        let database = try GeoIPDatabase()
        #expect(database.ipv4RangeCount > 100_000)
        #expect(database.ipv6RangeCount > 10_000)
        #expect(database.country(of: IPAddress("127.0.0.1")!) == nil)
        #expect(database.location(ofCountry: "FR") != nil)
    }
}
