import ACMEKit
import AsyncHTTPClient
import Crypto
import DCDNCore
import DNSKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import NIOPosix
import SwiftASN1
import Synchronization
import X509

/// `dcdn dev`'s own certificate authority, speaking ACME (RFC 8555) at `/dev-acme/directory` so
/// that dev domains get certificates through exactly the code path a real CA uses: JWS-verified
/// requests with nonces, orders, HTTP-01 checked against the dev edge and DNS-01 against the dev
/// nameserver, a CSR finalized into a 90-day certificate signed by a CA created once in
/// `<data-dir>/dev-ca.pem` (the file to trust). Development only: state lives in memory.
final class DevCertificateAuthority: Sendable {
    static let prefix = "dev-acme"

    let caKey: P256.Signing.PrivateKey
    let caCertificate: Certificate
    let caPEM: String
    let publicURL: String
    /// Where validations go: the dev edge's HTTP port and the dev nameserver.
    let edgeHTTP: (host: String, port: Int)
    let dnsServer: (host: String, port: Int)
    let logger: Logger

    struct Order {
        var names: [String]
        var authorizations: [String]
        var status: String
        var certificate: String?
    }
    struct Authorization {
        var name: String
        var wildcard: Bool
        var status: String
        var challenges: [String]
        var token: String
    }
    struct Challenge {
        var authorization: String
        var type: String
        var status: String
        var error: String?
    }
    private struct State {
        var nonces: Set<String> = []
        var accounts: [String: P256.Signing.PublicKey] = [:]
        var orders: [String: Order] = [:]
        var authorizations: [String: Authorization] = [:]
        var challenges: [String: Challenge] = [:]
        var certificates: [String: String] = [:]
        /// Issued certificates' expiry by RFC 9773 identifier, for renewal information.
        var expiries: [String: Date] = [:]
    }
    private let state = Mutex(State())

    init(dataDirectory: String, publicURL: String, edgeHTTP: (String, Int), dnsServer: (String, Int), logger: Logger) throws {
        self.publicURL = publicURL
        self.edgeHTTP = edgeHTTP
        self.dnsServer = dnsServer
        self.logger = logger
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let keyPath = dataDirectory + "/dev-ca.key"
        let certificatePath = dataDirectory + "/dev-ca.pem"
        if let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8),
            let pem = try? String(contentsOfFile: certificatePath, encoding: .utf8)
        {
            caKey = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
            caCertificate = try Certificate(pemEncoded: pem)
            caPEM = pem
            return
        }
        let caKey = P256.Signing.PrivateKey()
        self.caKey = caKey
        let name = try DistinguishedName {
            OrganizationName("DCDN dev")
            CommonName("DCDN development CA")
        }
        let now = Date()
        caCertificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            }, issuerPrivateKey: .init(caKey))
        let caPEM = try caCertificate.serializeAsPEM().pemString
        self.caPEM = caPEM
        FileManager.default.createFile(
            atPath: keyPath, contents: Data(caKey.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
        try caPEM.write(toFile: certificatePath, atomically: true, encoding: .utf8)
    }

    var directoryURL: String { "\(publicURL)/\(Self.prefix)/directory" }
    private func url(_ path: String) -> String { "\(publicURL)/\(Self.prefix)/\(path)" }

    func addRoutes(to router: Router<AppRequestContext>) {
        let group = router.group(RouterPath(stringLiteral: Self.prefix))
        group.get("directory") { _, _ in
            self.json([
                "newNonce": self.url("new-nonce"), "newAccount": self.url("new-account"), "newOrder": self.url("new-order"),
                "renewalInfo": self.url("renewal-info"),
            ])
        }
        // RFC 9773: renew between 20 and 19 days before expiry (earlier than the one-third rule,
        // so that clients following the window are visible).
        group.get("renewal-info/:id") { _, context in
            guard let id = context.parameters.get("id"), let expiry = self.state.withLock({ $0.expiries[id] }) else {
                return self.problem("malformed", "unknown certificate", status: .notFound)
            }
            let format = ISO8601DateFormatter()
            return self.json([
                "suggestedWindow": [
                    "start": format.string(from: expiry.addingTimeInterval(-20 * 86400)),
                    "end": format.string(from: expiry.addingTimeInterval(-19 * 86400)),
                ]
            ])
        }
        group.head("new-nonce") { _, _ in Response(status: .ok, headers: [HTTPField.Name("Replay-Nonce")!: self.nonce()]) }
        group.get("new-nonce") { _, _ in Response(status: .noContent, headers: [HTTPField.Name("Replay-Nonce")!: self.nonce()]) }
        group.post(":kind") { request, context in
            try await self.handle(request, context: context, kind: context.parameters.get("kind") ?? "", id: nil)
        }
        group.post(":kind/:id") { request, context in
            try await self.handle(request, context: context, kind: context.parameters.get("kind") ?? "", id: context.parameters.get("id"))
        }
    }

    private func nonce() -> String {
        let value = Base64URL.encode(Data((0..<16).map { _ in UInt8.random(in: 0...255) }))
        state.withLock { _ = $0.nonces.insert(value) }
        return value
    }

    private func json(_ object: Any, status: HTTPResponse.Status = .ok, location: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("Replay-Nonce")!: nonce()]
        if let location { headers[.location] = location }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func problem(_ type: String, _ detail: String, status: HTTPResponse.Status = .badRequest) -> Response {
        var response = json(["type": "urn:ietf:params:acme:error:" + type, "detail": detail], status: status)
        response.headers[.contentType] = "application/problem+json"
        return response
    }

    /// Verifies the JWS (nonce, URL, signature by the account's key) and returns its payload.
    private func verified(_ request: Request, context: AppRequestContext) async throws -> (
        payload: Data, account: String?, jwk: P256.Signing.PublicKey
    )? {
        let body = try await request.body.collect(upTo: 64 * 1024)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: String],
            let protectedPart = object["protected"], let payloadPart = object["payload"], let signaturePart = object["signature"],
            let protectedData = Base64URL.decode(protectedPart),
            let header = try? JSONSerialization.jsonObject(with: protectedData) as? [String: Any], header["alg"] as? String == "ES256",
            let nonce = header["nonce"] as? String, let signature = Base64URL.decode(signaturePart)
        else { return nil }
        guard state.withLock({ $0.nonces.remove(nonce) }) != nil else { throw BadNonce() }
        let key: P256.Signing.PublicKey
        var account: String?
        if let kid = header["kid"] as? String {
            guard let known = state.withLock({ $0.accounts[kid] }) else { return nil }
            key = known
            account = kid
        } else if let jwk = header["jwk"] as? [String: String], let x = jwk["x"].flatMap(Base64URL.decode),
            let y = jwk["y"].flatMap(Base64URL.decode)
        {
            key = try P256.Signing.PublicKey(rawRepresentation: x + y)
        } else {
            return nil
        }
        guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
            key.isValidSignature(parsed, for: Data((protectedPart + "." + payloadPart).utf8))
        else { return nil }
        return (Base64URL.decode(payloadPart) ?? Data(), account, key)
    }

    struct BadNonce: Error {}

    private func handle(_ request: Request, context: AppRequestContext, kind: String, id: String?) async throws -> Response {
        let signed: (payload: Data, account: String?, jwk: P256.Signing.PublicKey)?
        do { signed = try await verified(request, context: context) } catch is BadNonce { return problem("badNonce", "unknown nonce") }
        guard let signed else { return problem("malformed", "the request is not a valid ES256 JWS") }
        let payload = (try? JSONSerialization.jsonObject(with: signed.payload)) as? [String: Any]
        switch (kind, id) {
        case ("new-account", nil):
            let account = url("account/" + Base64URL.encode(Data(SHA256.hash(data: signed.jwk.rawRepresentation)).prefix(12)))
            state.withLock { $0.accounts[account] = signed.jwk }
            return json(["status": "valid"], status: .created, location: account)
        case ("new-order", nil):
            guard signed.account != nil, let identifiers = payload?["identifiers"] as? [[String: String]] else {
                return problem("malformed", "an order needs identifiers and an account")
            }
            let names = identifiers.compactMap { $0["value"] }
            let orderID = UUID().uuidString.lowercased()
            var authorizationIDs: [String] = []
            state.withLock { state in
                for name in names {
                    let authorizationID = UUID().uuidString.lowercased()
                    let wildcard = name.hasPrefix("*.")
                    let http = UUID().uuidString.lowercased()
                    let dns = UUID().uuidString.lowercased()
                    state.challenges[http] = Challenge(authorization: authorizationID, type: "http-01", status: "pending")
                    state.challenges[dns] = Challenge(authorization: authorizationID, type: "dns-01", status: "pending")
                    state.authorizations[authorizationID] = Authorization(
                        name: wildcard ? String(name.dropFirst(2)) : name, wildcard: wildcard, status: "pending",
                        challenges: wildcard ? [dns] : [http, dns],
                        token: Base64URL.encode(Data((0..<24).map { _ in UInt8.random(in: 0...255) })))
                    authorizationIDs.append(authorizationID)
                }
                state.orders[orderID] = Order(names: names, authorizations: authorizationIDs, status: "pending")
            }
            return json(orderJSON(orderID), status: .created, location: url("order/" + orderID))
        case ("order", let id?):
            return json(orderJSON(id))
        case ("authz", let id?):
            return json(authorizationJSON(id))
        case ("challenge", let id?):
            guard let challenge = state.withLock({ $0.challenges[id] }) else {
                return problem("malformed", "no such challenge", status: .notFound)
            }
            if challenge.status == "pending" {
                state.withLock { $0.challenges[id]?.status = "processing" }
                let thumbprint = AccountKey.thumbprint(of: signed.jwk)
                Task { await self.validate(challengeID: id, thumbprint: thumbprint) }
            }
            return json(challengeJSON(id))
        case ("finalize", let id?):
            guard let csrText = payload?["csr"] as? String, let der = Base64URL.decode(csrText) else { return problem("badCSR", "no CSR") }
            do {
                let pem = try issue(orderID: id, csr: Array(der))
                let certificateID = UUID().uuidString.lowercased()
                let issued = try IssuedCertificate(chainPem: pem)
                state.withLock { state in
                    if let renewalID = issued.renewalID { state.expiries[renewalID] = issued.notAfter }
                    state.certificates[certificateID] = pem
                    state.orders[id]?.status = "valid"
                    state.orders[id]?.certificate = certificateID
                }
                return json(orderJSON(id))
            } catch {
                return problem("badCSR", "\(error)")
            }
        case ("certificate", let id?):
            guard let pem = state.withLock({ $0.certificates[id] }) else {
                return problem("malformed", "no such certificate", status: .notFound)
            }
            return Response(
                status: .ok, headers: [.contentType: "application/pem-certificate-chain", HTTPField.Name("Replay-Nonce")!: nonce()],
                body: .init(byteBuffer: ByteBuffer(string: pem)))
        default:
            return problem("malformed", "unknown resource", status: .notFound)
        }
    }

    private func orderJSON(_ id: String) -> [String: Any] {
        state.withLock { state in
            guard var order = state.orders[id] else { return ["status": "invalid", "finalize": url("finalize/" + id)] }
            if order.status == "pending" {
                let statuses = order.authorizations.compactMap { state.authorizations[$0]?.status }
                if statuses.contains("invalid") {
                    order.status = "invalid"
                } else if statuses.allSatisfy({ $0 == "valid" }) {
                    order.status = "ready"
                }
                state.orders[id] = order
            }
            var object: [String: Any] = [
                "status": order.status, "identifiers": order.names.map { ["type": "dns", "value": $0] },
                "authorizations": order.authorizations.map { url("authz/" + $0) }, "finalize": url("finalize/" + id),
            ]
            if let certificate = order.certificate { object["certificate"] = url("certificate/" + certificate) }
            return object
        }
    }

    private func authorizationJSON(_ id: String) -> [String: Any] {
        state.withLock { state in
            guard let authorization = state.authorizations[id] else { return ["status": "invalid"] }
            return [
                "status": authorization.status, "identifier": ["type": "dns", "value": authorization.name],
                "wildcard": authorization.wildcard,
                "challenges": authorization.challenges.compactMap { challengeID -> [String: Any]? in
                    guard let challenge = state.challenges[challengeID] else { return nil }
                    var object: [String: Any] = [
                        "type": challenge.type, "url": url("challenge/" + challengeID), "token": authorization.token,
                        "status": challenge.status,
                    ]
                    if let error = challenge.error {
                        object["error"] = ["type": "urn:ietf:params:acme:error:unauthorized", "detail": error]
                    }
                    return object
                },
            ]
        }
    }

    private func challengeJSON(_ id: String) -> [String: Any] {
        state.withLock { state in
            guard let challenge = state.challenges[id], let authorization = state.authorizations[challenge.authorization] else {
                return ["status": "invalid"]
            }
            return ["type": challenge.type, "url": url("challenge/" + id), "token": authorization.token, "status": challenge.status]
        }
    }

    /// Checks a challenge the way a CA does: the edge serves the key authorization (HTTP-01) or
    /// the nameserver the TXT record (DNS-01).
    private func validate(challengeID: String, thumbprint: String) async {
        guard
            let (challenge, authorization) = state.withLock({ state in
                state.challenges[challengeID].flatMap { challenge in state.authorizations[challenge.authorization].map { (challenge, $0) } }
            })
        else { return }
        let expected = authorization.token + "." + thumbprint
        var failure: String?
        if challenge.type == "http-01" {
            var request = HTTPClientRequest(
                url: "http://\(edgeHTTP.host):\(edgeHTTP.port)/.well-known/acme-challenge/\(authorization.token)")
            request.headers.add(name: "Host", value: authorization.name)
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let body = String(buffer: try await response.body.collect(upTo: 4096)).trimmingCharacters(in: .whitespacesAndNewlines)
                if response.status != .ok || body != expected {
                    failure = "the edge answered \(response.status.code) without the key authorization"
                }
            } catch {
                failure = "the edge could not be reached: \(error)"
            }
        } else {
            let value = AccountKey.dnsValue(keyAuthorization: expected)
            var query = DNSMessage(id: UInt16.random(in: 0...UInt16.max))
            query.questions = [DNSQuestion(name: DNSName("_acme-challenge." + authorization.name)!, type: .txt)]
            let answers =
                (try? await DNSClient.query(
                    query, server: try SocketAddress(ipAddress: dnsServer.host, port: dnsServer.port), timeout: .seconds(5)))?.answers ?? []
            let found = answers.contains { record in
                if case .txt(let strings) = record.data { return strings.map { String(decoding: $0, as: UTF8.self) }.joined() == value }
                return false
            }
            if !found { failure = "no TXT record _acme-challenge.\(authorization.name) with the expected value" }
        }
        state.withLock { state in
            state.challenges[challengeID]?.status = failure == nil ? "valid" : "invalid"
            state.challenges[challengeID]?.error = failure
            state.authorizations[challenge.authorization]?.status = failure == nil ? "valid" : "invalid"
        }
    }

    /// Signs the CSR's public key for the order's names, 90 days.
    private func issue(orderID: String, csr der: [UInt8]) throws -> String {
        guard let order = state.withLock({ $0.orders[orderID] }), order.status == "ready" || order.status == "pending" else {
            throw ACMEProblem(type: nil, detail: "the order is not ready")
        }
        let request = try CertificateSigningRequest(derEncoded: der)
        guard request.publicKey.isValidSignature(request.signature, for: request) else {
            throw ACMEProblem(type: nil, detail: "the CSR signature is wrong")
        }
        let now = Date()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: request.publicKey, notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(90 * 86400), issuer: caCertificate.subject,
            subject: try DistinguishedName { CommonName(order.names[0]) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(order.names.map { .dnsName($0) })
                AuthorityKeyIdentifier(keyIdentifier: try caCertificate.extensions.subjectKeyIdentifier?.keyIdentifier)
            }, issuerPrivateKey: .init(caKey))
        return try leaf.serializeAsPEM().pemString + "\n"
    }
}
