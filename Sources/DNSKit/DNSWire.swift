/// Why a packet could not be read. Parsing never traps: every read is bounds-checked.
public struct DNSWireError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads a DNS message (RFC 1035 §4) with bounds checks, compression loops refused.
struct WireReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw DNSWireError("truncated at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 {
        guard offset + 2 <= bytes.count else { throw DNSWireError("truncated at byte \(offset)") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw DNSWireError("truncated at byte \(offset)") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// A possibly compressed name. Pointers must point backwards, and a name has at most 255 bytes.
    mutating func name() throws -> DNSName {
        var labels: [[UInt8]] = []
        var length = 1
        var position = offset
        var jumped = false
        var jumps = 0
        while true {
            guard position < bytes.count else { throw DNSWireError("name runs past the end") }
            let size = bytes[position]
            switch size & 0xC0 {
            case 0xC0:
                guard position + 1 < bytes.count else { throw DNSWireError("truncated compression pointer") }
                let target = Int(size & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < position, jumps < 64 else { throw DNSWireError("compression pointer loop") }
                if !jumped { offset = position + 2 }
                jumped = true
                jumps += 1
                position = target
            case 0x00:
                if size == 0 {
                    if !jumped { offset = position + 1 }
                    return DNSName(labels: labels)
                }
                let end = position + 1 + Int(size)
                guard end <= bytes.count else { throw DNSWireError("label runs past the end") }
                length += Int(size) + 1
                guard length <= DNSName.maxLength else { throw DNSWireError("name longer than 255 bytes") }
                labels.append(Array(bytes[(position + 1)..<end]))
                position = end
            default:
                throw DNSWireError("unsupported label type")
            }
        }
    }

    mutating func characterString() throws -> [UInt8] {
        try take(Int(try u8()))
    }
}

/// Writes a DNS message with name compression.
struct WireWriter {
    var bytes: [UInt8] = []
    private var offsets: [String: Int] = [:]

    init() { bytes.reserveCapacity(512) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xff))
    }
    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(value & 0xffff))
    }
    mutating func append(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    mutating func name(_ name: DNSName, compress: Bool = true) {
        let labels = name.labels
        for index in labels.indices {
            let suffix = labels[index...].map { String(decoding: $0.map(DNSName.lower), as: UTF8.self) }.joined(separator: ".")
            if compress, let offset = offsets[suffix] {
                u16(0xC000 | UInt16(offset))
                return
            }
            if compress, bytes.count < 0x3FFF { offsets[suffix] = bytes.count }
            u8(UInt8(labels[index].count))
            append(labels[index])
        }
        u8(0)
    }

    mutating func characterString(_ data: [UInt8]) {
        u8(UInt8(min(data.count, 255)))
        append(Array(data.prefix(255)))
    }

    mutating func set16(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xff)
    }
}

extension DNSMessage {
    public static let ecsOptionCode: UInt16 = 8

    /// Parses a whole message; throws `DNSWireError` on anything malformed.
    public init(bytes: [UInt8]) throws {
        var reader = WireReader(bytes)
        self.init(id: try reader.u16())
        let flags = try reader.u16()
        isResponse = flags & 0x8000 != 0
        opcode = UInt8((flags >> 11) & 0x0F)
        authoritative = flags & 0x0400 != 0
        truncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        authenticData = flags & 0x0020 != 0
        checkingDisabled = flags & 0x0010 != 0
        rcode = flags & 0x000F
        let counts = (try reader.u16(), try reader.u16(), try reader.u16(), try reader.u16())
        // Each question or record takes at least 5 or 11 bytes: refuse counts the packet cannot hold.
        guard Int(counts.0) * 5 + (Int(counts.1) + Int(counts.2) + Int(counts.3)) * 11 <= bytes.count - 12 else {
            throw DNSWireError("section counts exceed the packet")
        }
        for _ in 0..<counts.0 {
            questions.append(DNSQuestion(name: try reader.name(), type: DNSType(rawValue: try reader.u16()), dnsClass: try reader.u16()))
        }
        for _ in 0..<counts.1 { answers.append(try Self.record(&reader)) }
        for _ in 0..<counts.2 { authorities.append(try Self.record(&reader)) }
        for index in 0..<Int(counts.3) {
            let start = reader.offset
            let record = try Self.record(&reader)
            switch record.type {
            case .opt:
                guard edns == nil, record.name == .root else { throw DNSWireError("second or misplaced OPT record") }
                edns = try Self.edns(record)
                rcode |= UInt16(edns!.extendedRCode) << 4
            case .tsig:
                guard index == Int(counts.3) - 1 else { throw DNSWireError("TSIG must be the last record") }
                guard case .raw(let data) = record.data else { throw DNSWireError("malformed TSIG") }
                tsig = try Self.tsig(name: record.name, data: data)
                tsigOffset = start
            default:
                additionals.append(record)
            }
        }
    }

    static func record(_ reader: inout WireReader) throws -> DNSRecord {
        let name = try reader.name()
        let type = DNSType(rawValue: try reader.u16())
        let dnsClass = try reader.u16()
        let ttl = try reader.u32()
        let length = Int(try reader.u16())
        let end = reader.offset + length
        guard end <= reader.bytes.count else { throw DNSWireError("record data runs past the end") }
        let data: DNSRData
        switch type {
        case .a where length == 4: data = .a(try reader.take(4))
        case .aaaa where length == 16: data = .aaaa(try reader.take(16))
        case .a, .aaaa: throw DNSWireError("address of the wrong length")
        case .ns: data = .ns(try reader.name())
        case .cname: data = .cname(try reader.name())
        case .soa:
            data = .soa(
                mname: try reader.name(), rname: try reader.name(), serial: try reader.u32(), refresh: try reader.u32(),
                retry: try reader.u32(), expire: try reader.u32(), minimum: try reader.u32())
        case .mx: data = .mx(preference: try reader.u16(), exchange: try reader.name())
        case .srv: data = .srv(priority: try reader.u16(), weight: try reader.u16(), port: try reader.u16(), target: try reader.name())
        case .txt:
            var strings: [[UInt8]] = []
            while reader.offset < end { strings.append(try reader.characterString()) }
            data = .txt(strings)
        case .caa:
            let flags = try reader.u8()
            let tag = try reader.characterString()
            guard reader.offset <= end else { throw DNSWireError("CAA tag runs past its record") }
            data = .caa(flags: flags, tag: tag, value: try reader.take(end - reader.offset))
        case .hinfo: data = .hinfo(cpu: try reader.characterString(), os: try reader.characterString())
        default: data = .raw(try reader.take(length))
        }
        guard reader.offset == end else { throw DNSWireError("record data length mismatch for \(type)") }
        return DNSRecord(name: name, type: type, dnsClass: dnsClass, ttl: ttl, data: data)
    }

    static func edns(_ record: DNSRecord) throws -> EDNS {
        var edns = EDNS(udpPayloadSize: record.dnsClass)
        edns.extendedRCode = UInt8(record.ttl >> 24)
        edns.version = UInt8((record.ttl >> 16) & 0xff)
        edns.dnssecOK = record.ttl & 0x8000 != 0
        guard case .raw(let data) = record.data else { return edns }
        var reader = WireReader(data)
        while reader.offset < data.count {
            let code = try reader.u16()
            let option = try reader.take(Int(try reader.u16()))
            if code == ecsOptionCode {
                guard edns.clientSubnet == nil else { throw DNSWireError("two client subnet options") }
                edns.clientSubnet = try clientSubnet(option)
            } else {
                edns.otherOptions.append((code, option))
            }
        }
        return edns
    }

    static func clientSubnet(_ data: [UInt8]) throws -> ClientSubnet {
        var reader = WireReader(data)
        let family = try reader.u16()
        let source = try reader.u8()
        let scope = try reader.u8()
        let width = family == 1 ? 4 : family == 2 ? 16 : 0
        guard width > 0, Int(source) <= width * 8, Int(scope) <= width * 8 else { throw DNSWireError("bad client subnet family or prefix") }
        let significant = (Int(source) + 7) / 8
        let address = try reader.take(data.count - 4)
        guard address.count == significant else { throw DNSWireError("client subnet address length does not match its prefix") }
        // Bits beyond the prefix must be zero (RFC 7871 §6).
        if source % 8 != 0, let last = address.last, last & (0xFF >> (source % 8)) != 0 {
            throw DNSWireError("client subnet address has bits beyond its prefix")
        }
        return ClientSubnet(
            family: family, sourcePrefixLength: source, scopePrefixLength: scope,
            address: address + [UInt8](repeating: 0, count: width - significant))
    }

    static func tsig(name: DNSName, data: [UInt8]) throws -> TSIGRecord {
        var reader = WireReader(data)
        let algorithm = try reader.name()
        let time = UInt64(try reader.u16()) << 32 | UInt64(try reader.u32())
        let fudge = try reader.u16()
        let mac = try reader.take(Int(try reader.u16()))
        let originalID = try reader.u16()
        let error = try reader.u16()
        let other = try reader.take(Int(try reader.u16()))
        guard reader.offset == data.count else { throw DNSWireError("TSIG data length mismatch") }
        return TSIGRecord(
            keyName: name, algorithm: algorithm, timeSigned: time, fudge: fudge, mac: mac, originalID: originalID, error: error,
            otherData: other)
    }

    /// The message in wire form. When it exceeds `maxSize` (UDP), the records are dropped and TC
    /// set so the client retries over TCP (RFC 2181 §9).
    public func encode(maxSize: Int = 65535) -> [UInt8] {
        let full = encode(includeRecords: true)
        if full.count <= maxSize { return full }
        var truncated = self
        truncated.truncated = true
        return truncated.encode(includeRecords: false)
    }

    func encode(includeRecords: Bool) -> [UInt8] {
        var writer = WireWriter()
        writer.u16(id)
        var flags: UInt16 = UInt16(opcode & 0x0F) << 11 | (rcode & 0x0F)
        if isResponse { flags |= 0x8000 }
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        if authenticData { flags |= 0x0020 }
        if checkingDisabled { flags |= 0x0010 }
        writer.u16(flags)
        let answers = includeRecords ? self.answers : []
        let authorities = includeRecords ? self.authorities : []
        let additionals = includeRecords ? self.additionals : []
        writer.u16(UInt16(questions.count))
        writer.u16(UInt16(answers.count))
        writer.u16(UInt16(authorities.count))
        writer.u16(UInt16(additionals.count + (edns == nil ? 0 : 1)))
        for question in questions {
            writer.name(question.name)
            writer.u16(question.type.rawValue)
            writer.u16(question.dnsClass)
        }
        for record in answers + authorities + additionals { Self.write(record, to: &writer) }
        if let edns { Self.write(edns, rcode: rcode, to: &writer) }
        return writer.bytes
    }

    static func write(_ record: DNSRecord, to writer: inout WireWriter) {
        writer.name(record.name)
        writer.u16(record.type.rawValue)
        writer.u16(record.dnsClass)
        writer.u32(record.ttl)
        let lengthOffset = writer.bytes.count
        writer.u16(0)
        switch record.data {
        case .a(let bytes), .aaaa(let bytes), .raw(let bytes): writer.append(bytes)
        case .ns(let name), .cname(let name): writer.name(name)
        case .soa(let mname, let rname, let serial, let refresh, let retry, let expire, let minimum):
            writer.name(mname)
            writer.name(rname)
            for value in [serial, refresh, retry, expire, minimum] { writer.u32(value) }
        case .mx(let preference, let exchange):
            writer.u16(preference)
            writer.name(exchange)
        case .txt(let strings):
            for string in strings { writer.characterString(string) }
        case .srv(let priority, let weight, let port, let target):
            writer.u16(priority)
            writer.u16(weight)
            writer.u16(port)
            // RFC 2782: the target is not compressed.
            writer.name(target, compress: false)
        case .caa(let flags, let tag, let value):
            writer.u8(flags)
            writer.characterString(tag)
            writer.append(value)
        case .hinfo(let cpu, let os):
            writer.characterString(cpu)
            writer.characterString(os)
        }
        writer.set16(UInt16(writer.bytes.count - lengthOffset - 2), at: lengthOffset)
    }

    static func write(_ edns: EDNS, rcode: UInt16, to writer: inout WireWriter) {
        writer.u8(0)
        writer.u16(DNSType.opt.rawValue)
        writer.u16(edns.udpPayloadSize)
        writer.u32(UInt32(rcode >> 4) << 24 | UInt32(edns.version) << 16 | (edns.dnssecOK ? 0x8000 : 0))
        var options = WireWriter()
        if let subnet = edns.clientSubnet {
            let significant = (Int(subnet.sourcePrefixLength) + 7) / 8
            options.u16(ecsOptionCode)
            options.u16(UInt16(4 + significant))
            options.u16(subnet.family)
            options.u8(subnet.sourcePrefixLength)
            options.u8(subnet.scopePrefixLength)
            options.append(Array(subnet.address.prefix(significant)))
        }
        writer.u16(UInt16(options.bytes.count))
        writer.append(options.bytes)
    }
}
