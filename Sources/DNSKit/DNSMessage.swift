/// Record types DCDN serves, plus the meta types it understands.
public struct DNSType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSType(rawValue: 1)
    public static let ns = DNSType(rawValue: 2)
    public static let cname = DNSType(rawValue: 5)
    public static let soa = DNSType(rawValue: 6)
    public static let mx = DNSType(rawValue: 15)
    public static let txt = DNSType(rawValue: 16)
    public static let aaaa = DNSType(rawValue: 28)
    public static let srv = DNSType(rawValue: 33)
    public static let opt = DNSType(rawValue: 41)
    public static let hinfo = DNSType(rawValue: 13)
    public static let caa = DNSType(rawValue: 257)
    public static let ds = DNSType(rawValue: 43)
    public static let tsig = DNSType(rawValue: 250)
    public static let ixfr = DNSType(rawValue: 251)
    public static let axfr = DNSType(rawValue: 252)
    public static let any = DNSType(rawValue: 255)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 41: "OPT", 250: "TSIG",
        43: "DS", 251: "IXFR", 252: "AXFR", 255: "ANY", 257: "CAA",
    ]

    public init?(name: String) {
        guard let match = Self.names.first(where: { $0.value == name.uppercased() }) else { return nil }
        rawValue = match.key
    }

    public var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }
}

public enum DNSRCode: UInt8, Sendable {
    case noError = 0, formErr = 1, servFail = 2, nxDomain = 3, notImp = 4, refused = 5, notAuth = 9
    /// Extended (EDNS) code 16: BADSIG/BADVERS share it; here it is BADSIG for TSIG.
    case badSig = 16
}

public enum DNSOpcode: UInt8, Sendable {
    case query = 0, notify = 4, update = 5
}

/// Typed record data; types DCDN does not interpret are kept as raw bytes.
public enum DNSRData: Hashable, Sendable {
    case a([UInt8])
    case aaaa([UInt8])
    case ns(DNSName)
    case cname(DNSName)
    case soa(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    case mx(preference: UInt16, exchange: DNSName)
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case caa(flags: UInt8, tag: [UInt8], value: [UInt8])
    case hinfo(cpu: [UInt8], os: [UInt8])
    case raw([UInt8])
}

public struct DNSRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var dnsClass: UInt16
    public var ttl: UInt32
    public var data: DNSRData

    public init(name: DNSName, type: DNSType, dnsClass: UInt16 = 1, ttl: UInt32, data: DNSRData) {
        self.name = name
        self.type = type
        self.dnsClass = dnsClass
        self.ttl = ttl
        self.data = data
    }
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSType
    public var dnsClass: UInt16

    public init(name: DNSName, type: DNSType, dnsClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.dnsClass = dnsClass
    }
}

/// EDNS(0) (RFC 6891) as carried in the OPT pseudo-record.
public struct EDNS: Hashable, Sendable {
    public var udpPayloadSize: UInt16
    public var extendedRCode: UInt8 = 0
    public var version: UInt8 = 0
    public var dnssecOK = false
    public var clientSubnet: ClientSubnet?
    /// Options other than ECS, kept so they are not silently dropped from parsing.
    public var otherOptions: [(code: UInt16, data: [UInt8])] = []

    public init(udpPayloadSize: UInt16) { self.udpPayloadSize = udpPayloadSize }

    public static func == (lhs: EDNS, rhs: EDNS) -> Bool {
        lhs.udpPayloadSize == rhs.udpPayloadSize && lhs.version == rhs.version && lhs.dnssecOK == rhs.dnssecOK
            && lhs.clientSubnet == rhs.clientSubnet && lhs.extendedRCode == rhs.extendedRCode
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(udpPayloadSize) }
}

/// EDNS Client Subnet (RFC 7871).
public struct ClientSubnet: Hashable, Sendable {
    public var family: UInt16
    public var sourcePrefixLength: UInt8
    public var scopePrefixLength: UInt8
    /// The address with bits beyond the source prefix zeroed, full length (4 or 16 bytes).
    public var address: [UInt8]

    public init(family: UInt16, sourcePrefixLength: UInt8, scopePrefixLength: UInt8, address: [UInt8]) {
        self.family = family
        self.sourcePrefixLength = sourcePrefixLength
        self.scopePrefixLength = scopePrefixLength
        self.address = address
    }
}

/// A transaction signature (RFC 8945).
public struct TSIGRecord: Hashable, Sendable {
    public var keyName: DNSName
    public var algorithm: DNSName
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var mac: [UInt8]
    public var originalID: UInt16
    public var error: UInt16
    public var otherData: [UInt8]
}

public struct DNSMessage: Sendable {
    public var id: UInt16
    public var isResponse = false
    public var opcode: UInt8 = 0
    public var authoritative = false
    public var truncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    public var authenticData = false
    public var checkingDisabled = false
    /// The full response code (low 4 bits in the header, high 8 in EDNS).
    public var rcode: UInt16 = 0
    public var questions: [DNSQuestion] = []
    public var answers: [DNSRecord] = []
    public var authorities: [DNSRecord] = []
    public var additionals: [DNSRecord] = []
    public var edns: EDNS?
    public var tsig: TSIGRecord?
    /// Where the TSIG record started in the parsed bytes (to verify the MAC over what precedes it).
    public var tsigOffset: Int?

    public init(id: UInt16) { self.id = id }
}
