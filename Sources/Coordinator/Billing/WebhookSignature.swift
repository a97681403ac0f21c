import Crypto
import Foundation

/// Stripe's webhook signature scheme (`Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`): HMAC-SHA256
/// of `"<t>.<body>"` under the endpoint secret, any one `v1` matching, compared in constant
/// time, within a tolerance of `t` so a captured request cannot be replayed later. The token
/// payment watcher signs the same way.
public struct WebhookSignature: Sendable {
    public static let tolerance: TimeInterval = 300

    public enum Failure: Error, Equatable {
        case malformedHeader, timestampOutsideTolerance, noMatchingSignature
    }

    public static func verify(payload: Data, header: String, secret: String, now: Date = Date()) throws {
        var timestamp: Int64?
        var signatures: [Data] = []
        for item in header.split(separator: ",") {
            let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "t": timestamp = Int64(pair[1])
            case "v1": if let bytes = Data(hex: String(pair[1])) { signatures.append(bytes) }
            default: continue
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw Failure.malformedHeader }
        guard abs(now.timeIntervalSince1970 - TimeInterval(timestamp)) <= tolerance else { throw Failure.timestampOutsideTolerance }
        let expected = Data(mac(payload: payload, timestamp: timestamp, secret: secret))
        // Every candidate is compared in full, so timing does not tell which one (or how much) matched.
        var matched = false
        for signature in signatures where signature.count == expected.count {
            var difference: UInt8 = 0
            for (a, b) in zip(signature, expected) { difference |= a ^ b }
            if difference == 0 { matched = true }
        }
        guard matched else { throw Failure.noMatchingSignature }
    }

    /// The header a sender puts on `payload` (tests, and the token watcher's reference client).
    public static func header(payload: Data, secret: String, timestamp: Int64) -> String {
        let hex = mac(payload: payload, timestamp: timestamp, secret: secret).map { String(format: "%02x", $0) }.joined()
        return "t=\(timestamp),v1=\(hex)"
    }

    static func mac(payload: Data, timestamp: Int64, secret: String) -> HashedAuthenticationCode<SHA256> {
        var signed = Data("\(timestamp).".utf8)
        signed.append(payload)
        return HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
    }
}

extension Data {
    /// Bytes from lower- or upper-case hex; nil when it is not hex.
    init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
