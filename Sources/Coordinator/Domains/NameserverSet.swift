import DCDNCore
import FluentKit

/// The NS names a domain's apex publishes (and that its registrar must list): the platform's
/// configured `nameservers`, and for a domain with DNS fallback the host names of nameserver
/// nodes in further regions, until the set spans at least two regions (product guide §11:
/// "secondary nameservers in different regions").
///
/// A configured name counts for the region of the DNS nodes registered with that host name;
/// names no node claims count for no region. The additions are deterministic (region, then
/// host name) so that the set changes only when the fleet does.
struct NameserverSet: Sendable {
    /// The platform's names, in configured order.
    let configured: [String]
    /// Names a domain with DNS fallback adds, so that its set spans two regions where the fleet can.
    let fallbackAdditions: [String]
    /// Host name → region, for nameserver nodes that have a host name.
    let regionByName: [String: String]

    init(configured: [String], dnsNodes: [Node]) {
        self.configured = configured
        var regions: [String: String] = [:]
        for node in dnsNodes.sorted(by: { ($0.region, $0.name) < ($1.region, $1.name) }) {
            if let hostname = node.hostname, regions[hostname] == nil { regions[hostname] = node.region }
        }
        regionByName = regions
        var covered = Set(configured.compactMap { regions[$0] })
        var additions: [String] = []
        for (name, region) in regions.sorted(by: { ($0.value, $0.key) < ($1.value, $1.key) })
        where covered.count < 2 && !covered.contains(region) && !configured.contains(name) {
            additions.append(name)
            covered.insert(region)
        }
        fallbackAdditions = additions
    }

    /// Reads the nameserver nodes.
    static func load(_ settings: DCDNSettings, on db: any Database) async throws -> NameserverSet {
        let nodes = try await Node.query(on: db).all().filter { $0.roles.contains("dns") }
        return NameserverSet(configured: settings.nameservers, dnsNodes: nodes)
    }

    /// The NS set of a domain.
    func names(dnsFallback: Bool) -> [String] { configured + (dnsFallback ? fallbackAdditions : []) }

    /// The regions `names` span, sorted.
    func regions(of names: [String]) -> [String] { Set(names.compactMap { regionByName[$0] }).sorted() }
}
