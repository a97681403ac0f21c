import Crypto
import Foundation

/// Keys derived from the coordinator's master secret, one per purpose (HKDF-SHA256), so that a
/// key leaked from one use says nothing about another.
public struct Secrets: Sendable {
    public let jwtKey: SymmetricKey
    public let cookieKey: SymmetricKey
    /// Encrypts private keys at rest (TLS certificates, the ACME account).
    let storageKey: SymmetricKey
    /// Signs challenge clearances on every edge (shared with them in the configuration).
    let clearanceKey: SymmetricKey

    public init(master: String) {
        let input = SymmetricKey(data: Data(master.utf8))
        func derive(_ purpose: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: input, info: Data("dcdn \(purpose) v1".utf8), outputByteCount: 32)
        }
        jwtKey = derive("jwt")
        cookieKey = derive("cookie")
        storageKey = derive("storage")
        clearanceKey = derive("edge clearance")
    }

    /// AES-256-GCM with the storage key: `base64(nonce ‖ ciphertext ‖ tag)`.
    public func seal(_ plaintext: String) throws -> String {
        try AES.GCM.seal(Data(plaintext.utf8), using: storageKey).combined!.base64EncodedString()
    }

    /// The plaintext of `seal`, or nil when the value was not sealed with this master secret.
    public func open(_ sealed: String) -> String? {
        guard let data = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(box, using: storageKey)
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    /// A new random token: `prefix` followed by 32 bytes in URL-safe base64.
    public static func randomToken(prefix: String = "") -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + Data(bytes).base64URLEncoded
    }

    /// How tokens are stored: their SHA-256, hex. Tokens are 256-bit random, so no salt or
    /// slow hash is needed, and a lookup by hash stays an index hit.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Signs a value for a cookie: `base64url(value).base64url(HMAC)`.
    public func sign(_ value: Data) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: value, using: cookieKey)
        return value.base64URLEncoded + "." + Data(mac).base64URLEncoded
    }

    /// The value of a signed cookie, or nil when it was tampered with.
    public func verify(_ signed: String) -> Data? {
        let parts = signed.split(separator: ".")
        guard parts.count == 2, let value = Data(base64URLEncoded: String(parts[0])),
            let mac = Data(base64URLEncoded: String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: value, using: cookieKey)
        else { return nil }
        return value
    }
}

extension Data {
    public var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }
}
