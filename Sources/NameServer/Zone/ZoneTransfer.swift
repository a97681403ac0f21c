import DCDNCore
import DNSKit

/// A zone as a secondary receives it (AXFR): SOA, every record, SOA. Secondaries cannot do
/// GeoDNS, so proxied names carry the healthy edge nodes as plain addresses — DNS fallback.
enum ZoneTransfer {
    static func records(of zone: Zone, selector: EdgeSelector) -> [DNSRecord] {
        var records: [DNSRecord] = [zone.soa]
        for (key, types) in zone.rrsets.sorted(by: { $0.key < $1.key }) {
            guard let owner = DNSName(key) else { continue }
            for (type, set) in types.sorted(by: { $0.key < $1.key }) where type != DNSType.soa.rawValue {
                records += set.data.map { DNSRecord(name: owner, type: DNSType(rawValue: type), ttl: set.ttl, data: $0) }
            }
        }
        for (key, ttl) in zone.proxied.sorted(by: { $0.key < $1.key }) {
            guard let owner = DNSName(key) else { continue }
            for address in selector.addresses(for: nil, ipv6: false, distinctRegions: true)
                + selector.addresses(for: nil, ipv6: true, distinctRegions: true)
            {
                guard let ip = IPAddress(address) else { continue }
                records.append(
                    DNSRecord(name: owner, type: ip.isIPv4 ? .a : .aaaa, ttl: ttl, data: ip.isIPv4 ? .a(ip.bytes) : .aaaa(ip.bytes)))
            }
        }
        records.append(zone.soa)
        return records
    }

    /// Groups records into messages of at most ~16 KB.
    static func chunks(_ records: [DNSRecord]) -> [[DNSRecord]] {
        var chunks: [[DNSRecord]] = [[]]
        var size = 0
        for record in records {
            let estimate = record.name.wireLength + 10 + 300
            if size + estimate > 16_000, !chunks[chunks.count - 1].isEmpty {
                chunks.append([])
                size = 0
            }
            chunks[chunks.count - 1].append(record)
            size += estimate
        }
        return chunks
    }
}
