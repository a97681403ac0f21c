import DCDNCore
import DNSKit

/// Answers queries from a `ZoneSet` as an authoritative server: RFC 1034 §4.3.2 lookup with
/// CNAME chasing inside the zone, wildcards (RFC 4592), NXDOMAIN vs NODATA with the SOA
/// (RFC 2308), referrals for delegated names, minimal ANY (RFC 8482), EDNS(0) and client subnet.
public struct AuthoritativeResolver: Sendable {
    public static let udpPayloadSize: UInt16 = 1232
    static let maxCNAMEChain = 8

    public init() {}

    /// The response, or nil when the packet must be dropped (it is itself a response).
    public func respond(to query: DNSMessage, from client: IPAddress?, zones: ZoneSet) -> DNSMessage? {
        guard !query.isResponse else { return nil }
        var response = DNSMessage(id: query.id)
        response.isResponse = true
        response.opcode = query.opcode
        response.recursionDesired = query.recursionDesired
        response.questions = query.questions
        if let edns = query.edns {
            response.edns = EDNS(udpPayloadSize: Self.udpPayloadSize)
            if edns.version != 0 {
                response.rcode = 16  // BADVERS
                return response
            }
        }
        guard query.opcode == DNSOpcode.query.rawValue else {
            response.rcode = UInt16(DNSRCode.notImp.rawValue)
            return response
        }
        guard query.questions.count == 1, let question = query.questions.first else {
            response.rcode = UInt16(DNSRCode.formErr.rawValue)
            return response
        }
        guard question.dnsClass == 1 || question.dnsClass == 255 else {
            response.rcode = UInt16(DNSRCode.refused.rawValue)
            return response
        }
        guard let zone = zones.zone(for: question.name) else {
            response.rcode = UInt16(DNSRCode.refused.rawValue)
            return response
        }
        // The client the answer is for: its subnet when a resolver sends one (RFC 7871).
        var subject = client
        if let subnet = query.edns?.clientSubnet {
            if subnet.sourcePrefixLength > 0 { subject = IPAddress(bytes: subnet.address) }
            response.edns?.clientSubnet = ClientSubnet(
                family: subnet.family, sourcePrefixLength: subnet.sourcePrefixLength, scopePrefixLength: 0, address: subnet.address)
        }
        var usedGeography = false
        resolve(question, in: zone, zones: zones, client: subject, response: &response, usedGeography: &usedGeography)
        if usedGeography, zones.selector.isGeographic, var subnet = response.edns?.clientSubnet {
            subnet.scopePrefixLength = subnet.sourcePrefixLength
            response.edns?.clientSubnet = subnet
        }
        return response
    }

    private func resolve(
        _ question: DNSQuestion, in zone: Zone, zones: ZoneSet, client: IPAddress?, response: inout DNSMessage, usedGeography: inout Bool
    ) {
        response.authoritative = true
        var name = question.name
        for _ in 0...Self.maxCNAMEChain {
            let key = name.key
            // The DS set at a cut is the parent's (RFC 4035 §3.1.4.1): answered here, not referred.
            if let cut = delegation(above: name, in: zone), !(question.type == .ds && cut == name) {
                // Not ours to answer: point at the delegated servers (not authoritative), with
                // every in-domain glue address (RFC 9471 §3).
                response.authoritative = response.answers.isEmpty ? false : response.authoritative
                if let servers = zone.rrsets[cut.key]?[DNSType.ns.rawValue] {
                    response.authorities += servers.data.map { DNSRecord(name: cut, type: .ns, ttl: servers.ttl, data: $0) }
                    addGlue(for: servers, in: zone, &response)
                }
                return
            }
            var owner = name
            var nodeKey = key
            if !zone.names.contains(key) {
                // Wildcard: "*" under the closest encloser (RFC 4592 §3.3.1).
                guard let wildcard = wildcardKey(for: name, in: zone) else {
                    // The RCODE of the last step of a CNAME chain (RFC 6604 §3), as BIND, Knot,
                    // NSD and PowerDNS answer: NXDOMAIN with the CNAMEs that led here.
                    response.rcode = UInt16(DNSRCode.nxDomain.rawValue)
                    negative(zone, &response)
                    return
                }
                nodeKey = wildcard
                owner = name
            }
            var rrsets = zone.rrsets[nodeKey] ?? [:]
            var proxiedTTL = zone.proxied[nodeKey]
            if proxiedTTL != nil, zone.dnsFallback, [.a, .aaaa, .cname].contains(question.type), !zones.selector.hasHealthyEdge {
                // DNS fallback: no edge can serve, so the name's addresses answer as DNS-only,
                // with its origin. Other types keep their own records (an origin CNAME at the
                // apex must not hide its MX or TXT).
                rrsets.merge(zone.fallback[nodeKey] ?? [:]) { own, _ in own }
                proxiedTTL = nil
            }
            if let ttl = proxiedTTL, [.a, .aaaa, .any].contains(question.type) {
                usedGeography = true
                let ipv6 = question.type == .aaaa
                let addresses = zones.selector.addresses(for: client, ipv6: ipv6, distinctRegions: zone.multiNodeRedundancy)
                for address in addresses {
                    guard let ip = IPAddress(address) else { continue }
                    response.answers.append(
                        DNSRecord(name: owner, type: ipv6 ? .aaaa : .a, ttl: ttl, data: ip.isIPv4 ? .a(ip.bytes) : .aaaa(ip.bytes)))
                }
                if addresses.isEmpty { negative(zone, &response) }
                return
            }
            if question.type != .cname, proxiedTTL == nil, let cname = rrsets[DNSType.cname.rawValue],
                case .cname(let target) = cname.data.first
            {
                response.answers.append(DNSRecord(name: owner, type: .cname, ttl: cname.ttl, data: .cname(target)))
                guard target.isSubdomain(of: zone.apex) else { return }
                name = target
                continue
            }
            if question.type == .any {
                // RFC 8482: answer ANY with one small synthesized record instead of everything.
                response.answers.append(DNSRecord(name: owner, type: .hinfo, ttl: 3600, data: .hinfo(cpu: Array("RFC8482".utf8), os: [])))
                return
            }
            if let set = rrsets[question.type.rawValue] {
                response.answers += set.data.map { DNSRecord(name: owner, type: question.type, ttl: set.ttl, data: $0) }
                if question.type == .ns, key == zone.apex.key { addGlue(for: set, in: zone, &response) }
                return
            }
            negative(zone, &response)
            return
        }
        response.rcode = UInt16(DNSRCode.servFail.rawValue)
    }

    /// The delegation point at or above `name` and below the apex, if any.
    private func delegation(above name: DNSName, in zone: Zone) -> DNSName? {
        guard !zone.delegations.isEmpty else { return nil }
        var current: DNSName? = name
        while let candidate = current, candidate != zone.apex {
            if zone.delegations.contains(candidate.key) { return candidate }
            current = candidate.parent
        }
        return nil
    }

    private func wildcardKey(for name: DNSName, in zone: Zone) -> String? {
        var encloser = name.parent
        while let candidate = encloser, candidate.isSubdomain(of: zone.apex) {
            if zone.names.contains(candidate.key) {
                let wildcard = candidate.prepending("*").key
                return zone.rrsets[wildcard] != nil || zone.proxied[wildcard] != nil ? wildcard : nil
            }
            encloser = candidate.parent
        }
        return nil
    }

    /// NXDOMAIN and NODATA carry the SOA so resolvers can cache the absence (RFC 2308 §3),
    /// with the TTL the lesser of the SOA's TTL and its MINIMUM.
    private func negative(_ zone: Zone, _ response: inout DNSMessage) {
        var soa = zone.soa
        if case .soa(_, _, _, _, _, _, let minimum) = soa.data { soa.ttl = min(soa.ttl, minimum) }
        response.authorities.append(soa)
    }

    private func addGlue(for servers: RRSet, in zone: Zone, _ response: inout DNSMessage) {
        for case .ns(let target) in servers.data where target.isSubdomain(of: zone.apex) {
            for type in [DNSType.a, .aaaa] {
                if let set = zone.rrsets[target.key]?[type.rawValue] {
                    response.additionals += set.data.map { DNSRecord(name: target, type: type, ttl: set.ttl, data: $0) }
                }
            }
        }
    }
}
