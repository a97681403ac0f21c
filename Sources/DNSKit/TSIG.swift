import Crypto
import DCDNCore
import Foundation

/// Transaction signatures (RFC 8945) with HMAC-SHA256, for zone transfers and NOTIFY.
public struct TSIGKey: Sendable, Equatable {
    public var name: DNSName
    public var secret: [UInt8]
    public static let algorithm = DNSName("hmac-sha256")!
    public static let fudge: UInt16 = 300

    /// "name:base64secret", as in `dns_transfer_key`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let name = DNSName(String(parts[0])), let secret = Data(base64Encoded: String(parts[1])), secret.count >= 16
        else {
            return nil
        }
        self.name = name
        self.secret = [UInt8](secret)
    }

    public enum Failure: Error, Equatable {
        case unsigned, badKey, badSignature, badTime
    }

    /// Checks a request's signature; returns its MAC, which the first response's MAC covers.
    public func verify(request: DNSMessage, bytes: [UInt8], now: Date = Date()) throws(Failure) -> [UInt8] {
        guard let tsig = request.tsig, let offset = request.tsigOffset else { throw .unsigned }
        guard tsig.keyName == name, tsig.algorithm == Self.algorithm else { throw .badKey }
        var unsigned = Array(bytes[..<offset])
        // The MAC covers the message as it was before the TSIG record: one record fewer, original ID.
        let additional = UInt16(unsigned[10]) << 8 | UInt16(unsigned[11])
        unsigned[10] = UInt8((additional - 1) >> 8)
        unsigned[11] = UInt8((additional - 1) & 0xff)
        unsigned[0] = UInt8(tsig.originalID >> 8)
        unsigned[1] = UInt8(tsig.originalID & 0xff)
        let expected = mac(unsigned + variables(time: tsig.timeSigned, fudge: tsig.fudge, error: tsig.error, other: tsig.otherData))
        guard expected.count == tsig.mac.count, zip(expected, tsig.mac).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { throw .badSignature }
        let nowSeconds = UInt64(now.timeIntervalSince1970)
        guard max(nowSeconds, tsig.timeSigned) - min(nowSeconds, tsig.timeSigned) <= UInt64(tsig.fudge) else { throw .badTime }
        return tsig.mac
    }

    /// Appends a TSIG record to an encoded message. `priorMAC` is the request's MAC (first
    /// response) or the previous message's (later messages of a transfer, which then cover only
    /// the timers, RFC 8945 §5.3.1). Returns the signed bytes and their MAC.
    public func sign(_ message: [UInt8], id: UInt16, priorMAC: [UInt8]?, timersOnly: Bool = false, now: Date = Date()) -> ([UInt8], [UInt8])
    {
        let time = UInt64(now.timeIntervalSince1970)
        var input: [UInt8] = []
        if let priorMAC {
            input += [UInt8(priorMAC.count >> 8), UInt8(priorMAC.count & 0xff)] + priorMAC
        }
        input += message
        if timersOnly {
            input += Self.u48(time) + [UInt8(Self.fudge >> 8), UInt8(Self.fudge & 0xff)]
        } else {
            input += variables(time: time, fudge: Self.fudge, error: 0, other: [])
        }
        let signature = mac(input)
        let record = TSIGRecord(
            keyName: name, algorithm: Self.algorithm, timeSigned: time, fudge: Self.fudge, mac: signature, originalID: id, error: 0,
            otherData: [])
        return (Self.append(record, to: message), signature)
    }

    /// TSIG error codes (RFC 8945 §3).
    public static let badSig: UInt16 = 16
    public static let badKey: UInt16 = 17
    public static let badTime: UInt16 = 18

    /// The answer to a request whose signature failed (RFC 8945 §5.2): `response` (its RCODE
    /// NOTAUTH) with a TSIG record carrying the error. BADKEY and BADSIG are unsigned (an empty
    /// MAC, the request's key name and algorithm); BADTIME is signed, with the request's time
    /// and the server's own time in Other Data, so the client can see the clock skew.
    public func errorResponse(_ response: [UInt8], request: DNSMessage, failure: Failure, now: Date = Date()) -> [UInt8] {
        guard let tsig = request.tsig else { return response }
        switch failure {
        case .unsigned: return response
        case .badKey, .badSignature:
            let record = TSIGRecord(
                keyName: tsig.keyName, algorithm: tsig.algorithm, timeSigned: tsig.timeSigned, fudge: tsig.fudge, mac: [],
                originalID: request.id, error: failure == .badKey ? Self.badKey : Self.badSig, otherData: [])
            return Self.append(record, to: response)
        case .badTime:
            let other = Self.u48(UInt64(now.timeIntervalSince1970))
            var input = [UInt8(tsig.mac.count >> 8), UInt8(tsig.mac.count & 0xff)] + tsig.mac + response
            input += variables(time: tsig.timeSigned, fudge: tsig.fudge, error: Self.badTime, other: other)
            let record = TSIGRecord(
                keyName: name, algorithm: Self.algorithm, timeSigned: tsig.timeSigned, fudge: tsig.fudge, mac: mac(input),
                originalID: request.id, error: Self.badTime, otherData: other)
            return Self.append(record, to: response)
        }
    }

    /// An encoded message with `record` appended to its additional section (RFC 8945 §4.2).
    static func append(_ record: TSIGRecord, to message: [UInt8]) -> [UInt8] {
        var writer = WireWriter()
        writer.append(message)
        writer.name(record.keyName, compress: false)
        writer.u16(DNSType.tsig.rawValue)
        writer.u16(255)
        writer.u32(0)
        var data = WireWriter()
        data.name(record.algorithm, compress: false)
        data.append(Self.u48(record.timeSigned))
        data.u16(record.fudge)
        data.u16(UInt16(record.mac.count))
        data.append(record.mac)
        data.u16(record.originalID)
        data.u16(record.error)
        data.u16(UInt16(record.otherData.count))
        data.append(record.otherData)
        writer.u16(UInt16(data.bytes.count))
        writer.append(data.bytes)
        var signed = writer.bytes
        let additional = (UInt16(signed[10]) << 8 | UInt16(signed[11])) + 1
        signed[10] = UInt8(additional >> 8)
        signed[11] = UInt8(additional & 0xff)
        return signed
    }

    /// The TSIG variables of RFC 8945 §4.3.3, names in canonical (lower-case, uncompressed) form.
    private func variables(time: UInt64, fudge: UInt16, error: UInt16, other: [UInt8]) -> [UInt8] {
        var writer = WireWriter()
        writer.name(DNSName(name.key) ?? name, compress: false)
        writer.u16(255)
        writer.u32(0)
        writer.name(Self.algorithm, compress: false)
        writer.append(Self.u48(time))
        writer.u16(fudge)
        writer.u16(error)
        writer.u16(UInt16(other.count))
        writer.append(other)
        return writer.bytes
    }

    private func mac(_ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: secret)))
    }

    static func u48(_ value: UInt64) -> [UInt8] {
        (0..<6).reversed().map { UInt8((value >> (UInt64($0) * 8)) & 0xff) }
    }
}
