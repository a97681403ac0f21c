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
        var writer = WireWriter()
        writer.append(message)
        writer.name(name, compress: false)
        writer.u16(DNSType.tsig.rawValue)
        writer.u16(255)
        writer.u32(0)
        var data = WireWriter()
        data.name(Self.algorithm, compress: false)
        data.append(Self.u48(time))
        data.u16(Self.fudge)
        data.u16(UInt16(signature.count))
        data.append(signature)
        data.u16(id)
        data.u16(0)
        data.u16(0)
        writer.u16(UInt16(data.bytes.count))
        writer.append(data.bytes)
        var signed = writer.bytes
        let additional = (UInt16(signed[10]) << 8 | UInt16(signed[11])) + 1
        signed[10] = UInt8(additional >> 8)
        signed[11] = UInt8(additional & 0xff)
        return (signed, signature)
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
