import Crypto
import Foundation

/// An ACME account key (ECDSA P-256, JWS "ES256") and the JSON Web Signatures made with it
/// (RFC 8555 §6.2, RFC 7515, RFC 7518 §3.4).
public struct AccountKey: Sendable {
    public let privateKey: P256.Signing.PrivateKey

    public init(privateKey: P256.Signing.PrivateKey = .init()) {
        self.privateKey = privateKey
    }

    public init(pem: String) throws {
        privateKey = try P256.Signing.PrivateKey(pemRepresentation: pem)
    }

    public var pem: String { privateKey.pemRepresentation }

    /// A public key as a JWK, members in the lexicographic order RFC 7638 hashes them in.
    static func jwk(of key: P256.Signing.PublicKey) -> [(String, String)] {
        let raw = key.rawRepresentation  // x ‖ y, 32 bytes each
        return [("crv", "P-256"), ("kty", "EC"), ("x", Base64URL.encode(raw.prefix(32))), ("y", Base64URL.encode(raw.suffix(32)))]
    }

    var jwkObject: [String: String] { Dictionary(uniqueKeysWithValues: Self.jwk(of: privateKey.publicKey)) }

    /// RFC 7638 thumbprint of an account key: the client's part of every key authorization, and
    /// what a CA computes from the key that signed a request.
    public static func thumbprint(of key: P256.Signing.PublicKey) -> String {
        let canonical = "{" + jwk(of: key).map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}"
        return Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
    }

    public var thumbprint: String { Self.thumbprint(of: privateKey.publicKey) }

    /// `token.thumbprint` (RFC 8555 §8.1): served as-is for HTTP-01.
    public func keyAuthorization(token: String) -> String { token + "." + thumbprint }

    /// The TXT value for DNS-01 (RFC 8555 §8.4).
    public static func dnsValue(keyAuthorization: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(keyAuthorization.utf8))))
    }

    public func dnsValue(token: String) -> String { Self.dnsValue(keyAuthorization: keyAuthorization(token: token)) }

    /// A flattened JWS: `kid` once the account exists, else the JWK itself. A nil payload is a
    /// POST-as-GET (empty payload).
    func sign(url: String, nonce: String, kid: String?, payload: Data?) throws -> Data {
        var protected: [String: Any] = ["alg": "ES256", "nonce": nonce, "url": url]
        if let kid { protected["kid"] = kid } else { protected["jwk"] = jwkObject }
        let protectedPart = Base64URL.encode(try JSONSerialization.data(withJSONObject: protected, options: [.sortedKeys]))
        let payloadPart = payload.map(Base64URL.encode) ?? ""
        let signature = try privateKey.signature(for: Data((protectedPart + "." + payloadPart).utf8))
        let body = ["protected": protectedPart, "payload": payloadPart, "signature": Base64URL.encode(signature.rawRepresentation)]
        return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    }
}

/// base64url without padding (RFC 4648 §5), as JOSE uses it.
public enum Base64URL {
    public static func encode<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
