import DCDNCore
import FluentKit
import Foundation
import Logging
import NodeProtocol
import ServiceLifecycle

/// Certificates: ACME issuance and renewal, imported certificates, and dcdn dev's own CA. In the
/// node feed: each domain's certificate with its private key, and ACME HTTP-01 answers — for
/// edges only.
struct TLSArea: ProductArea {
    static var migrations: [any AsyncMigration] { TLSMigrations.all }

    let certificates: CertificateService
    let domains: DomainService
    let secrets: Secrets
    let devCA: DevCertificateAuthority?

    init(_ coordinator: Coordinator) {
        certificates = coordinator.certificates
        domains = coordinator.domains
        secrets = coordinator.secrets
        devCA = coordinator.devCA
    }

    func addRoutes(to routes: AreaRoutes) {
        devCA?.addRoutes(to: routes.root)
        CertificatesController(certificates: certificates, domains: domains).addRoutes(to: routes.api)
    }

    func jobs(claims: JobClaims, logger: Logger) -> [any Service] {
        [
            PeriodicJob(name: "certificates", interval: .seconds(5), claims: claims, logger: logger) { [certificates] in
                try await certificates.runDue(round: $0)
            }
        ]
    }

    func contribute(to feed: inout NodeFeedBuilder) async throws {
        guard feed.wantsEdge, !feed.domains.isEmpty else { return }
        for certificate in try await feed.rows(DomainCertificate.self, \.$domain).filter(\.$status == .issued).all() {
            guard let chain = certificate.chainPem, let sealed = certificate.keySealed, let key = secrets.open(sealed),
                let names = certificate.names, let notAfter = certificate.notAfter
            else { continue }
            feed.edge[certificate.$domain.id]?.certificate = CertificateConfig(
                names: names, chainPem: chain, keyPem: key, notAfter: notAfter)
        }
        for answer in try await feed.rows(ACMEHTTPChallenge.self, \.$domain).filter(\.$expiresAt > Date()).all() {
            guard var entry = feed.edge[answer.$domain.id] else { continue }
            entry.acmeChallenges = (entry.acmeChallenges ?? [:]).merging([answer.token: answer.keyAuthorization]) { $1 }
            feed.edge[answer.$domain.id] = entry
        }
    }
}
