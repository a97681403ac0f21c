import ACMEKit
import AsyncHTTPClient
import DCDNCore
import FluentKit
import Foundation
import Logging
import NIOCore
import NIOSSL
import SQLKit
import X509

/// Gets every domain a certificate from the configured ACME CA and keeps it renewed: HTTP-01
/// through the edges for the apex and `www`, DNS-01 through DCDN's own nameservers for wildcards.
/// Renewal starts when a third of the lifetime remains, or inside the CA's ACME Renewal
/// Information window; failures are retried with backoff and honour Retry-After. A replica takes
/// a certificate by locking its row, so one order runs at a time.
public final class CertificateService: Sendable {
    let store: DatabaseStore
    let feed: ConfigFeed
    let domains: DomainService
    let secrets: Secrets
    let settings: DCDNSettings
    let logger: Logger
    /// The CA's ACME directory (empty: issuance off).
    let directoryURL: String
    /// For talking to the CA (with its extra trust roots); a client is made per run.
    let clientConfiguration: HTTPClient.Configuration

    static let maxBackoff: TimeInterval = 6 * 3600

    init(
        store: DatabaseStore, feed: ConfigFeed, domains: DomainService, secrets: Secrets, settings: DCDNSettings, directoryURL: String,
        logger: Logger
    ) throws {
        self.directoryURL = directoryURL
        self.store = store
        self.feed = feed
        self.domains = domains
        self.secrets = secrets
        self.settings = settings
        self.logger = logger
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        if let bundle = settings.acmeCABundle {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.file(bundle)]
            configuration.tlsConfiguration = tls
        }
        clientConfiguration = configuration
    }

    public var enabled: Bool { !directoryURL.isEmpty }

    // MARK: API

    func certificate(of domain: Domain) async throws -> DomainCertificate? {
        try await DomainCertificate.query(on: store.db).filter(\.$domain.$id == domain.id!).first()
    }

    /// Asks for issuance now (or a wildcard instead of apex + www).
    func request(for domain: Domain, wildcard: Bool? = nil) async throws -> DomainCertificate {
        let certificate = try await certificate(of: domain) ?? DomainCertificate(domainID: domain.id!, wildcard: wildcard ?? false)
        if let wildcard { certificate.wildcard = wildcard }
        certificate.dueAt = Date()
        certificate.attempts = 0
        try await certificate.save(on: store.db)
        return certificate
    }

    /// An operator's own certificate for a domain (PEM chain, leaf first, and its private key):
    /// served by the edges like an issued one, never renewed by DCDN (issuing anew replaces it).
    public func importCertificate(domainName: String, chainPEM: String, keyPEM: String) async throws -> (names: [String], notAfter: Date) {
        guard let domain = try await Domain.query(on: store.db).filter(\.$name == domainName.lowercased()).first() else {
            throw APIError.notFound("Domain \(domainName)")
        }
        let issued: IssuedCertificate
        do { issued = try IssuedCertificate(chainPem: chainPEM) } catch {
            throw APIError.validation("chain", "is not a PEM certificate chain")
        }
        guard let key = try? Certificate.PrivateKey(pemEncoded: keyPEM) else {
            throw APIError.validation("key", "is not a PEM private key")
        }
        guard key.publicKey == issued.leaf.publicKey else { throw APIError.validation("key", "does not belong to the certificate") }
        let names =
            (try? issued.leaf.extensions.subjectAlternativeNames)??.compactMap { name -> String? in
                if case .dnsName(let dns) = name { return dns.lowercased() }
                return nil
            } ?? []
        guard names.contains(where: { $0 == domain.name || $0.hasSuffix("." + domain.name) }) else {
            throw APIError.validation("chain", "names none of \(domain.name)'s hosts")
        }
        let certificate = try await certificate(of: domain) ?? DomainCertificate(domainID: domain.id!, wildcard: false)
        certificate.status = .issued
        certificate.chainPem = chainPEM
        certificate.keySealed = try secrets.seal(keyPEM)
        certificate.names = names
        certificate.wildcard = names.contains { $0.hasPrefix("*.") }
        certificate.notBefore = issued.notBefore
        certificate.notAfter = issued.notAfter
        certificate.renewalID = nil
        certificate.dueAt = .distantFuture
        certificate.attempts = 0
        certificate.lastError = nil
        try await store.db.transaction { db in
            try await certificate.save(on: db)
            try await self.domains.touch(domain, on: db)
        }
        feed.changed()
        return (names, issued.notAfter)
    }

    // MARK: The job

    /// Every certificate that is due, one at a time. An active domain without a row gets one;
    /// pending domains wait for their delegation (a CA could not validate them yet, and failed
    /// validations count against the CA's rate limits), unless someone asks with Issue now.
    public func runDue(now: Date = Date(), round: JobRound? = nil) async throws {
        guard enabled else { return }
        if let sql = store.db as? any SQLDatabase {
            struct Row: Decodable { var id: UUID }
            let without = try await sql.raw(
                """
                SELECT d.id FROM \(ident: Domain.schema) d LEFT JOIN \(ident: DomainCertificate.schema) c ON c.domain_id = d.id
                WHERE c.id IS NULL AND d.status = \(bind: Domain.Status.active.rawValue) LIMIT 100
                """
            ).all(decoding: Row.self)
            for row in without {
                if let domain = try await Domain.find(row.id, on: store.db) { _ = try? await request(for: domain) }
            }
        }
        let due = try await DomainCertificate.query(on: store.db).filter(\.$dueAt <= now).sort(\.$dueAt).limit(20).all()
        guard !due.isEmpty else { return }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        for listed in due {
            // One item per certificate and due time: an attempt moves `dueAt`, so the next is a new item.
            try await round.run("\(listed.id!):\(JobClaims.millis(listed.dueAt))") {
                // Read again under the claim: a replica that died after saving its attempt left it done.
                guard let certificate = try await DomainCertificate.find(listed.id, on: store.db), certificate.dueAt == listed.dueAt else {
                    return
                }
                await attempt(certificate, http: http)
            }
        }
        try? await http.shutdown()
    }

    private func attempt(_ certificate: DomainCertificate, http: HTTPClient) async {
        guard let domain = try? await Domain.find(certificate.$domain.id, on: store.db) else { return }
        let names = certificate.wildcard ? [domain.name, "*." + domain.name] : [domain.name, "www." + domain.name]
        do {
            let issued = try await issue(names: names, domain: domain, replaces: certificate.renewalID, http: http)
            certificate.status = .issued
            certificate.chainPem = issued.chain
            certificate.keySealed = try secrets.seal(issued.key)
            certificate.names = names
            certificate.notBefore = issued.certificate.notBefore
            certificate.notAfter = issued.certificate.notAfter
            certificate.renewalID = issued.certificate.renewalID
            certificate.dueAt = issued.renewAt
            certificate.attempts = 0
            certificate.lastError = nil
            logger.info("certificate issued", metadata: ["domain": "\(domain.name)", "not_after": "\(issued.certificate.notAfter)"])
        } catch {
            certificate.attempts += 1
            let problem = error as? ACMEProblem
            certificate.lastError = Self.plainWords(error)
            if certificate.status != .issued { certificate.status = .failed }
            let backoff = min(Self.maxBackoff, 30 * pow(2, Double(certificate.attempts - 1)))
            certificate.dueAt = Date().addingTimeInterval(max(backoff, problem?.retryAfter ?? 0))
            logger.warning("certificate attempt failed", metadata: ["domain": "\(domain.name)", "error": "\(error)"])
        }
        do {
            try await store.db.transaction { db in
                try await certificate.save(on: db)
                try await self.domains.touch(domain, on: db)
            }
            feed.changed()
        } catch {
            logger.error("could not save a certificate", metadata: ["domain": "\(domain.name)", "error": "\(error)"])
        }
    }

    struct Issued {
        let chain: String
        let key: String
        let certificate: IssuedCertificate
        let renewAt: Date
    }

    /// One ACME order from new order to downloaded chain.
    func issue(names: [String], domain: Domain, replaces: String?, http: HTTPClient) async throws -> Issued {
        let client = ACMEClient(directoryURL: directoryURL, key: try await accountKey(), http: http)
        try await client.register(contact: settings.acmeEmail.map { ["mailto:" + $0] } ?? [])
        var order = try await client.newOrder(names: names, replaces: replaces)
        var published: [@Sendable () async -> Void] = []
        defer {
            // Detached: `defer` cannot wait. The outcome's save follows at once; a late removal
            // only leaves a spent token on the edges until the domain's next change.
            let cleanups = published
            Task { for cleanup in cleanups { await cleanup() } }
        }
        var pending: [(ACMEClient.Authorization, ACMEClient.Challenge)] = []
        var answers: [(token: String, answer: String)] = []
        for url in order.authorizations {
            let authorization = try await client.authorization(url)
            guard authorization.status != "valid" else { continue }
            let wanted = authorization.wildcard ? "dns-01" : "http-01"
            guard let challenge = authorization.challenges.first(where: { $0.type == wanted }) else {
                throw ACMEProblem(type: nil, detail: "the CA offers no \(wanted) challenge for \(authorization.identifier)")
            }
            if wanted == "dns-01" {
                let id = try await domains.publishChallenge(
                    host: authorization.identifier, value: client.key.dnsValue(token: challenge.token))
                published.append { [domains] in try? await domains.withdrawChallenge(id) }
            } else {
                answers.append((challenge.token, client.key.keyAuthorization(token: challenge.token)))
            }
            pending.append((authorization, challenge))
        }
        if !answers.isEmpty {
            let ids = try await publishHTTP(domain: domain, answers: answers)
            published.append { [self] in await withdrawHTTP(ids) }
        }
        if !pending.isEmpty { try await Task.sleep(for: .seconds(settings.acmeChallengeDelay)) }
        for (authorization, challenge) in pending {
            try await client.accept(challenge)
            try await poll(every: 1, upTo: 90) {
                let now = try await client.authorization(authorization.url)
                if now.status == "invalid" {
                    let failed = now.challenges.first { $0.error != nil }?.error
                    throw failed ?? ACMEProblem(type: nil, detail: "the CA could not validate \(authorization.identifier)")
                }
                return now.status == "valid"
            }
        }
        let request = CertificateRequest(names: names)
        order = try await client.order(order.url)
        if order.status == "ready" { order = try await client.finalize(order, csr: try request.csr()) }
        var certificateURL = order.certificate
        try await poll(every: 1, upTo: 90) {
            order = try await client.order(order.url)
            if order.status == "invalid" { throw order.error ?? ACMEProblem(type: nil, detail: "the CA refused the order") }
            certificateURL = order.certificate
            return order.status == "valid" && certificateURL != nil
        }
        let chain = try await client.certificate(certificateURL!)
        let issued = try IssuedCertificate(chainPem: chain)
        var renewAt = issued.renewAt
        if let id = issued.renewalID, let window = try? await client.renewalWindow(certificateID: id) {
            // RFC 9773 §4.2: a random moment inside the suggested window.
            renewAt = Date(
                timeIntervalSince1970: .random(in: window.lowerBound.timeIntervalSince1970...window.upperBound.timeIntervalSince1970))
        }
        return Issued(chain: chain, key: request.privateKeyPEM, certificate: issued, renewAt: renewAt)
    }

    private func poll(every seconds: Double, upTo limit: Double, _ check: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(limit)
        while try await !check() {
            guard Date() < deadline else { throw ACMEProblem(type: nil, detail: "the CA did not finish in \(Int(limit)) seconds") }
            try await Task.sleep(for: .seconds(seconds))
        }
    }

    /// The account key for the configured CA, created once and kept encrypted.
    private func accountKey() async throws -> AccountKey {
        if let account = try await ACMEAccount.query(on: store.db).filter(\.$directoryURL == directoryURL).first(),
            let pem = secrets.open(account.keySealed)
        {
            return try AccountKey(pem: pem)
        }
        let key = AccountKey()
        let account = ACMEAccount()
        account.directoryURL = directoryURL
        account.keySealed = try secrets.seal(key.pem)
        try await account.save(on: store.db)
        return key
    }

    /// The HTTP-01 answers of one order, published with one configuration change.
    private func publishHTTP(domain: Domain, answers: [(token: String, answer: String)]) async throws -> [UUID] {
        let challenges = answers.map { token, answer in
            let challenge = ACMEHTTPChallenge()
            challenge.$domain.id = domain.id!
            challenge.token = token
            challenge.keyAuthorization = answer
            challenge.expiresAt = Date().addingTimeInterval(3600)
            return challenge
        }
        try await store.db.transaction { db in
            for challenge in challenges { try await challenge.create(on: db) }
            try await self.domains.touch(domain, on: db)
        }
        feed.changed()
        return challenges.compactMap(\.id)
    }

    /// Deletes answers without a configuration change of their own: the attempt's outcome is
    /// saved with one right after, which carries the removal to the edges.
    private func withdrawHTTP(_ ids: [UUID]) async {
        try? await ACMEHTTPChallenge.query(on: store.db).filter(\.$id ~~ ids).delete()
    }

    /// An error as the dashboard and API show it.
    static func plainWords(_ error: any Error) -> String {
        if let problem = error as? ACMEProblem {
            if problem.isRateLimited {
                return "The certificate authority's rate limit was reached; DCDN retries later. (\(problem.detail))"
            }
            return "The certificate authority said: \(problem.description)"
        }
        return "Could not reach the certificate authority: \(error)"
    }
}
