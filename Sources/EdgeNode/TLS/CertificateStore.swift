import Crypto
import DCDNCore
import Foundation
import Logging
import NIOCore
import NIOSSL
import NodeProtocol
import SwiftASN1
import Synchronization
import X509

/// The certificates the edge presents, chosen by the TLS client's SNI name: an exact name first,
/// then a wildcard one label up. Certificates are parsed when the configuration changes, never
/// during a handshake, and a changed configuration takes effect for the next handshake (no
/// restart). Names without a certificate get the node's own self-signed one, which no browser
/// trusts — the handshake completes, the client refuses it, and no other customer's certificate
/// is ever shown.
final class CertificateStore: Sendable {
    struct Parsed: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let source: CertificateConfig
    }

    private let byName = Mutex<[String: Parsed]>([:])
    let fallback: Parsed
    let logger: Logger

    init(logger: Logger) throws {
        self.logger = logger
        fallback = try Self.selfSigned()
    }

    /// Takes the certificates of a full configuration; unchanged ones are not parsed again.
    func apply(_ domains: [EdgeDomainConfig]) {
        let previous = byName.withLock { $0 }
        var next: [String: Parsed] = [:]
        for domain in domains {
            guard let config = domain.certificate else { continue }
            let parsed: Parsed
            if let known = config.names.first.flatMap({ previous[$0] }), known.source == config {
                parsed = known
            } else {
                do {
                    parsed = Parsed(
                        chain: try NIOSSLCertificate.fromPEMBytes(Array(config.chainPem.utf8)),
                        key: try NIOSSLPrivateKey(bytes: Array(config.keyPem.utf8), format: .pem), source: config)
                } catch {
                    logger.error("unusable certificate", metadata: ["domain": "\(domain.name)", "error": "\(error)"])
                    continue
                }
            }
            for name in config.names { next[name.lowercased()] = parsed }
        }
        byName.withLock { $0 = next }
    }

    func certificate(for serverName: String?) -> Parsed? {
        guard var name = serverName?.lowercased() else { return nil }
        if name.hasSuffix(".") { name.removeLast() }
        return byName.withLock { names in
            if let exact = names[name] { return exact }
            guard let dot = name.firstIndex(of: ".") else { return nil }
            return names["*" + name[dot...]]
        }
    }

    /// The TLS configuration of the HTTPS listener: TLS 1.2 and 1.3, ALPN h2 and http/1.1, and
    /// the certificate picked per handshake by SNI.
    func serverConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: fallback.chain.map { .certificate($0) }, privateKey: .privateKey(fallback.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2", "http/1.1"]
        configuration.sslContextCallback = { [self] values, promise in
            guard let chosen = certificate(for: values.serverHostname) else { return promise.succeed(.noChanges) }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = chosen.chain.map { .certificate($0) }
            override.privateKey = .privateKey(chosen.key)
            promise.succeed(override)
        }
        return configuration
    }

    /// A throwaway certificate for handshakes with an unknown or missing SNI name.
    static func selfSigned() throws -> Parsed {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("DCDN edge") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(365 * 86400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames([.dnsName("invalid")]) }, issuerPrivateKey: .init(key))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let config = CertificateConfig(
            names: [], chainPem: try certificate.serializeAsPEM().pemString, keyPem: key.pemRepresentation,
            notAfter: certificate.notValidAfter)
        return Parsed(
            chain: [try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)],
            key: try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem), source: config)
    }
}
