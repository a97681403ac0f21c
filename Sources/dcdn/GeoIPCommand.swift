import ArgumentParser
import DCDNCore
import Foundation
import GeoIP

/// `dcdn geoip`: the country edges see for addresses, from the same data files; `--bench N`
/// times N lookups of random addresses.
struct GeoIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geoip", abstract: "Look up the country of IP addresses as edge nodes do (Debian tor-geoipdb).")

    @Argument(help: "IPv4 or IPv6 addresses.") var addresses: [String] = []
    @Option(help: "IPv4 ranges file.") var ipv4File = GeoIPDatabase.defaultIPv4Path
    @Option(help: "IPv6 ranges file.") var ipv6File = GeoIPDatabase.defaultIPv6Path
    @Option(help: "Time this many lookups of random public addresses (half IPv4, half IPv6) and print lookups per second.")
    var bench: Int?

    func run() throws {
        let loading = ContinuousClock.now
        let database = try GeoIPDatabase(ipv4Path: ipv4File, ipv6Path: ipv6File)
        let loaded = ContinuousClock.now - loading
        for text in addresses {
            guard let address = IPAddress(text) else { throw ValidationError("\(text) is not an IP address") }
            print("\(text)\t\(database.country(of: address) ?? "--")")
        }
        guard let count = bench, count > 0 else { return }
        var generator = SystemRandomNumberGenerator()
        let v4 = (0..<4096).map { _ in UInt32.random(in: 0x0100_0000...0xDFFF_FFFF, using: &generator) }
        let v6 = (0..<4096).map { _ in UInt128(0x2000) << 112 | UInt128(UInt64.random(in: 0...UInt64.max, using: &generator)) << 48 }
        var found = 0
        let start = ContinuousClock.now
        for index in 0..<count {
            let hit = index & 1 == 0 ? database.packedCountry(ipv4: v4[index & 4095]) : database.packedCountry(ipv6: v6[index & 4095])
            if hit != nil { found += 1 }
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        print(
            "loaded \(database.ipv4RangeCount) IPv4 and \(database.ipv6RangeCount) IPv6 ranges in \(loaded); \(count) lookups in \(String(format: "%.3f", seconds)) s: \(Int(Double(count) / seconds)) lookups/s on one core (\(found) found a country)"
        )
    }
}
