import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// An RFC 8555 client: account, orders, authorizations, challenges, finalization with a CSR,
/// certificate download, and ACME Renewal Information (RFC 9773) where the CA offers it. Requests
/// are JWS-signed POSTs with replay nonces; a badNonce answer is retried with a fresh nonce.
/// Works against any RFC 8555 CA (Let's Encrypt, its staging, pebble).
public final class ACMEClient: Sendable {
    public struct Directory: Decodable, Sendable {
        public let newNonce: String
        public let newAccount: String
        public let newOrder: String
        public let renewalInfo: String?
    }

    public struct Order: Sendable {
        public let url: String
        public let status: String
        public let authorizations: [String]
        public let finalize: String
        public let certificate: String?
        public let error: ACMEProblem?
    }

    public struct Challenge: Sendable {
        public let type: String
        public let url: String
        public let token: String
        public let status: String
        public let error: ACMEProblem?
    }

    public struct Authorization: Sendable {
        public let url: String
        public let identifier: String
        public let wildcard: Bool
        public let status: String
        public let challenges: [Challenge]
    }

    public let directoryURL: String
    public let key: AccountKey
    let http: HTTPClient
    private let state = Mutex<(directory: Directory?, nonces: [String], account: String?)>((nil, [], nil))

    public init(directoryURL: String, key: AccountKey, http: HTTPClient) {
        self.directoryURL = directoryURL
        self.key = key
        self.http = http
    }

    // MARK: Account

    /// Creates the account, or finds the existing one for this key; returns its URL.
    @discardableResult
    public func register(contact: [String]) async throws -> String {
        if let account = state.withLock({ $0.account }) { return account }
        let directory = try await directory()
        let payload = try JSONSerialization.data(withJSONObject: ["termsOfServiceAgreed": true, "contact": contact])
        let response = try await post(directory.newAccount, payload: payload, useKID: false)
        guard let location = response.headers.first(name: "Location") else {
            throw ACMEProblem(type: nil, detail: "the CA created an account without saying where it is")
        }
        state.withLock { $0.account = location }
        return location
    }

    // MARK: Orders

    /// A new order for DNS names (a wildcard is "*.example.com"); `replaces` is the ARI
    /// certificate ID of the certificate this one renews, when the CA supports it.
    public func newOrder(names: [String], replaces: String? = nil) async throws -> Order {
        let directory = try await directory()
        var body: [String: Any] = ["identifiers": names.map { ["type": "dns", "value": $0] }]
        if let replaces, directory.renewalInfo != nil { body["replaces"] = replaces }
        let response = try await post(directory.newOrder, payload: try JSONSerialization.data(withJSONObject: body))
        guard let url = response.headers.first(name: "Location") else {
            throw ACMEProblem(type: nil, detail: "the CA gave the order no URL")
        }
        return try Self.order(url: url, response.body)
    }

    public func order(_ url: String) async throws -> Order {
        try Self.order(url: url, try await post(url, payload: nil).body)
    }

    public func authorization(_ url: String) async throws -> Authorization {
        let object = try Self.object(try await post(url, payload: nil).body)
        let identifier = object["identifier"] as? [String: Any]
        let challenges = (object["challenges"] as? [[String: Any]] ?? []).compactMap { challenge -> Challenge? in
            guard let type = challenge["type"] as? String, let url = challenge["url"] as? String else { return nil }
            return Challenge(
                type: type, url: url, token: challenge["token"] as? String ?? "", status: challenge["status"] as? String ?? "pending",
                error: Self.problem(challenge["error"]))
        }
        return Authorization(
            url: url, identifier: identifier?["value"] as? String ?? "", wildcard: object["wildcard"] as? Bool ?? false,
            status: object["status"] as? String ?? "pending", challenges: challenges)
    }

    /// Tells the CA the challenge's response is in place.
    public func accept(_ challenge: Challenge) async throws {
        _ = try await post(challenge.url, payload: Data("{}".utf8))
    }

    /// Submits the CSR (DER).
    public func finalize(_ order: Order, csr: [UInt8]) async throws -> Order {
        let payload = try JSONSerialization.data(withJSONObject: ["csr": Base64URL.encode(csr)])
        return try Self.order(url: order.url, try await post(order.finalize, payload: payload).body)
    }

    /// The issued chain, PEM, leaf first.
    public func certificate(_ url: String) async throws -> String {
        String(decoding: try await post(url, payload: nil, accept: "application/pem-certificate-chain").body, as: UTF8.self)
    }

    /// The CA's suggested renewal window (RFC 9773), or nil when it offers none.
    public func renewalWindow(certificateID: String) async throws -> ClosedRange<Date>? {
        guard let base = try await directory().renewalInfo else { return nil }
        var request = HTTPClientRequest(url: base.hasSuffix("/") ? base + certificateID : base + "/" + certificateID)
        request.method = .GET
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 * 1024)
        guard response.status == .ok, let window = try Self.object(Data(buffer: body))["suggestedWindow"] as? [String: String],
            let start = window["start"].flatMap(Self.date), let end = window["end"].flatMap(Self.date), start <= end
        else { return nil }
        return start...end
    }

    // MARK: Transport

    public func directory() async throws -> Directory {
        if let directory = state.withLock({ $0.directory }) { return directory }
        let response = try await http.execute(HTTPClientRequest(url: directoryURL), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 256 * 1024)
        guard response.status == .ok else {
            throw ACMEProblem(
                type: nil, detail: "the CA directory \(directoryURL) answered \(response.status.code)", status: Int(response.status.code))
        }
        do {
            let directory = try JSONDecoder().decode(Directory.self, from: Data(buffer: body))
            state.withLock { $0.directory = directory }
            return directory
        } catch {
            throw ACMEProblem(type: nil, detail: "\(directoryURL) is not an ACME directory")
        }
    }

    struct Answer {
        let status: Int
        let headers: HTTPHeaders
        let body: Data
    }

    /// A signed POST (nil payload: POST-as-GET), retried up to three times on badNonce.
    func post(_ url: String, payload: Data?, useKID: Bool = true, accept: String? = nil) async throws -> Answer {
        var attempt = 0
        while true {
            attempt += 1
            let kid = useKID ? state.withLock({ $0.account }) : nil
            if useKID, kid == nil { throw ACMEProblem(type: nil, detail: "register the ACME account first") }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/jose+json")
            request.headers.add(name: "User-Agent", value: "DCDN-ACME/1")
            if let accept { request.headers.add(name: "Accept", value: accept) }
            request.body = .bytes(ByteBuffer(data: try key.sign(url: url, nonce: try await nonce(), kid: kid, payload: payload)))
            let response = try await http.execute(request, timeout: .seconds(60))
            let body = Data(buffer: try await response.body.collect(upTo: 4 * 1024 * 1024))
            if let nonce = response.headers.first(name: "Replay-Nonce") { state.withLock { $0.nonces.append(nonce) } }
            let status = Int(response.status.code)
            if status < 400 { return Answer(status: status, headers: response.headers, body: body) }
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Self.retryAfter)
            let problem =
                Self.problem((try? JSONSerialization.jsonObject(with: body)), status: status, retryAfter: retryAfter)
                ?? ACMEProblem(type: nil, detail: "the CA answered \(status)", status: status, retryAfter: retryAfter)
            if problem.isBadNonce, attempt < 3 { continue }
            throw problem
        }
    }

    private func nonce() async throws -> String {
        if let nonce = state.withLock({ $0.nonces.popLast() }) { return nonce }
        var request = HTTPClientRequest(url: try await directory().newNonce)
        request.method = .HEAD
        let response = try await http.execute(request, timeout: .seconds(30))
        guard let nonce = response.headers.first(name: "Replay-Nonce") else {
            throw ACMEProblem(type: nil, detail: "the CA gave no replay nonce")
        }
        return nonce
    }

    // MARK: Parsing

    static func object(_ data: Data) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ACMEProblem(type: nil, detail: "the CA answered something that is not a JSON object")
        }
        return object
    }

    static func order(url: String, _ data: Data) throws -> Order {
        let object = try object(data)
        guard let status = object["status"] as? String, let finalize = object["finalize"] as? String else {
            throw ACMEProblem(type: nil, detail: "the CA answered an order without status or finalize URL")
        }
        return Order(
            url: url, status: status, authorizations: object["authorizations"] as? [String] ?? [], finalize: finalize,
            certificate: object["certificate"] as? String, error: problem(object["error"]))
    }

    static func problem(_ value: Any?, status: Int? = nil, retryAfter: Double? = nil) -> ACMEProblem? {
        guard let object = value as? [String: Any] else { return nil }
        var detail = object["detail"] as? String ?? "no detail given"
        if let subproblems = object["subproblems"] as? [[String: Any]] {
            let parts = subproblems.compactMap { $0["detail"] as? String }
            if !parts.isEmpty { detail += " (" + parts.joined(separator: "; ") + ")" }
        }
        return ACMEProblem(
            type: object["type"] as? String, detail: detail, status: status ?? (object["status"] as? Int), retryAfter: retryAfter)
    }

    /// Retry-After as seconds or an HTTP date.
    static func retryAfter(_ value: String) -> Double? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
