import Foundation
import Hummingbird

/// `/cdn/domains/{id}/certificate`: where a domain's certificate stands, and issuing it now
/// (optionally as a wildcard through DNS-01).
struct CertificatesController {
    let certificates: CertificateService
    let domains: DomainService

    struct Status: ResponseEncodable {
        var status: String
        var names: [String]
        var wildcard: Bool
        var issuedAt: Date?
        var expiresAt: Date?
        /// When the next attempt or renewal is due.
        var nextAttemptAt: Date?
        var attempts: Int
        var lastError: String?
        var caDirectory: String

        init(_ certificate: DomainCertificate?, domain: Domain, directory: String) {
            status = certificate?.status.rawValue ?? "pending"
            wildcard = certificate?.wildcard ?? false
            names = certificate?.names ?? (wildcard ? [domain.name, "*." + domain.name] : [domain.name, "www." + domain.name])
            issuedAt = certificate?.notBefore
            expiresAt = certificate?.notAfter
            nextAttemptAt = certificate?.dueAt
            attempts = certificate?.attempts ?? 0
            lastError = certificate?.lastError
            caDirectory = directory
        }
    }

    struct IssueRequest: Decodable {
        var wildcard: Bool?
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("cdn/domains")
        group.get(":id/certificate") { _, context -> Status in
            let domain = try await domain(context)
            return Status(try await certificates.certificate(of: domain), domain: domain, directory: certificates.directoryURL)
        }
        group.post(":id/certificate") { request, context -> EditedResponse<Status> in
            let domain = try await domain(context)
            guard certificates.enabled else {
                throw APIError(.conflict, code: .acmeDisabled, detail: "certificate issuance is off: no ACME directory is configured")
            }
            let body = try? await request.decode(as: IssueRequest.self, context: context)
            let certificate = try await certificates.request(for: domain, wildcard: body?.wildcard)
            return EditedResponse(
                status: .accepted, response: Status(certificate, domain: domain, directory: certificates.directoryURL))
        }
    }

    func domain(_ context: AppRequestContext) async throws -> Domain {
        try await domains.domain(in: context)
    }
}
