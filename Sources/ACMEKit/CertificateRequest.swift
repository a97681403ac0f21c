import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate's private key and the CSR (RFC 2986) the CA is asked to sign for some names.
public struct CertificateRequest: Sendable {
    public let privateKey: P256.Signing.PrivateKey
    public let names: [String]

    public init(names: [String], privateKey: P256.Signing.PrivateKey = .init()) {
        self.names = names
        self.privateKey = privateKey
    }

    /// DER bytes: subject CN the first name, every name in subjectAltName.
    public func csr() throws -> [UInt8] {
        let extensions = try Certificate.Extensions { SubjectAlternativeNames(names.map { .dnsName($0) }) }
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(names[0]) }, privateKey: Certificate.PrivateKey(privateKey),
            attributes: CertificateSigningRequest.Attributes([try .init(ExtensionRequest(extensions: extensions))]),
            signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }

    public var privateKeyPEM: String { privateKey.pemRepresentation }
}

/// What the platform needs to know about an issued certificate.
public struct IssuedCertificate: Sendable {
    public let leaf: Certificate
    public let notBefore: Date
    public let notAfter: Date
    /// RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial).
    public let renewalID: String?

    public init(chainPem: String) throws {
        let blocks = try PEMDocument.parseMultiple(pemString: chainPem)
        guard let first = blocks.first else { throw ACMEProblem(type: nil, detail: "the CA returned no certificate") }
        let leaf = try Certificate(pemDocument: first)
        self.leaf = leaf
        notBefore = leaf.notValidBefore
        notAfter = leaf.notValidAfter
        let keyID = (try? leaf.extensions.authorityKeyIdentifier)??.keyIdentifier
        renewalID = keyID.map { Base64URL.encode(Array($0)) + "." + Base64URL.encode(Array(leaf.serialNumber.bytes)) }
    }

    /// When to renew without ARI: once a third of the lifetime remains.
    public var renewAt: Date { notAfter.addingTimeInterval(-notAfter.timeIntervalSince(notBefore) / 3) }
}
