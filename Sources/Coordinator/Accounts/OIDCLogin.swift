import AsyncHTTPClient
import Crypto
import DCDNCore
import Foundation
import JWTKit
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Synchronization

/// "Sign in with Google" — any OpenID Connect provider: the authorization-code flow with PKCE
/// (RFC 7636), state and nonce kept in a short-lived signed cookie so any replica can finish it.
public final class OIDCLogin: Sendable {
    public let settings: OIDCSettings
    let redirectURI: String
    let secrets: Secrets
    let httpClient: HTTPClient
    private let cache = Mutex<Provider?>(nil)

    static let cookieName = "dcdn_oidc"
    static let attemptLifetime: TimeInterval = 600

    struct Discovery: Decodable {
        var issuer: String
        var authorizationEndpoint: String
        var tokenEndpoint: String
        var jwksUri: String
        var tokenEndpointAuthMethodsSupported: [String]?
    }

    private struct Provider {
        var discovery: Discovery
        var keys: JWTKeyCollection
        var fetchedAt: Date
    }

    struct PendingLogin: Codable {
        var state: String
        var nonce: String
        var verifier: String
        var expires: Date
    }

    struct IDToken: JWTIdentityToken {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var audience: AudienceClaim
        var exp: ExpirationClaim
        var nonce: String?
        var email: String?
        var emailVerified: BoolClaim?

        enum CodingKeys: String, CodingKey {
            case iss, sub, exp, nonce, email
            case audience = "aud"
            case emailVerified = "email_verified"
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    /// What the provider vouched for.
    public struct VerifiedIdentity: Sendable {
        public var issuer: String
        public var subject: String
        public var email: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(settings: OIDCSettings, publicURL: String, secrets: Secrets, httpClient: HTTPClient = .shared) {
        self.settings = settings
        self.redirectURI = publicURL + "/api/v1/auth/oidc/callback"
        self.secrets = secrets
        self.httpClient = httpClient
    }

    /// Where to send the browser, and the cookie that remembers this attempt.
    public func start() async throws -> (url: String, cookie: String) {
        let provider = try await provider()
        let pending = PendingLogin(
            state: Secrets.randomToken(), nonce: Secrets.randomToken(), verifier: Secrets.randomToken(),
            expires: Date().addingTimeInterval(Self.attemptLifetime))
        let challenge = Data(SHA256.hash(data: Data(pending.verifier.utf8))).base64URLEncoded
        var components = URLComponents(string: provider.discovery.authorizationEndpoint)!
        components.queryItems =
            (components.queryItems ?? []) + [
                URLQueryItem(name: "response_type", value: "code"),
                URLQueryItem(name: "client_id", value: settings.clientID),
                URLQueryItem(name: "redirect_uri", value: redirectURI),
                URLQueryItem(name: "scope", value: "openid email profile"),
                URLQueryItem(name: "state", value: pending.state),
                URLQueryItem(name: "nonce", value: pending.nonce),
                URLQueryItem(name: "code_challenge", value: challenge),
                URLQueryItem(name: "code_challenge_method", value: "S256"),
            ]
        return (components.url!.absoluteString, secrets.sign(try JSONEncoder().encode(pending)))
    }

    /// Checks the callback against the attempt's cookie, redeems the code and verifies the ID token.
    public func finish(code: String?, state: String?, error: String?, cookie: String?) async throws -> VerifiedIdentity {
        if let error { throw Failure(description: "the provider refused: \(error)") }
        guard let cookie, let data = secrets.verify(cookie), let pending = try? JSONDecoder().decode(PendingLogin.self, from: data) else {
            throw Failure(description: "the sign-in attempt is unknown; start again")
        }
        guard pending.expires > Date() else { throw Failure(description: "the sign-in attempt expired; start again") }
        guard let state, state == pending.state else { throw Failure(description: "state mismatch") }
        guard let code, !code.isEmpty, code.count < 4096 else { throw Failure(description: "no authorization code") }

        let provider = try await provider()
        let idToken = try await redeem(code: code, verifier: pending.verifier, discovery: provider.discovery)
        let claims: IDToken
        do {
            claims = try await verifiedClaims(idToken, keys: provider.keys)
        } catch {
            // The provider may have rotated its keys: fetch them once more.
            claims = try await verifiedClaims(idToken, keys: try await self.provider(refresh: true).keys)
        }
        guard claims.iss.value == provider.discovery.issuer else { throw Failure(description: "ID token from another issuer") }
        guard claims.nonce == pending.nonce else { throw Failure(description: "nonce mismatch") }
        guard let email = claims.email, claims.emailVerified?.value == true else {
            throw Failure(description: "the provider did not vouch for an email address")
        }
        return VerifiedIdentity(issuer: claims.iss.value, subject: claims.sub.value, email: email)
    }

    private func verifiedClaims(_ token: String, keys: JWTKeyCollection) async throws -> IDToken {
        try await keys.verify(token, as: IDToken.self, expectedAudience: settings.clientID)
    }

    private func redeem(code: String, verifier: String, discovery: Discovery) async throws -> String {
        var form = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
            ("code_verifier", verifier), ("client_id", settings.clientID),
        ]
        var request = HTTPClientRequest(url: discovery.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let methods = discovery.tokenEndpointAuthMethodsSupported ?? ["client_secret_basic"]
        if methods.contains("client_secret_basic") {
            let credentials = "\(Self.formEncode(settings.clientID)):\(Self.formEncode(settings.clientSecret))"
            request.headers.add(name: "Authorization", value: "Basic \(Data(credentials.utf8).base64EncodedString())")
        } else {
            form.append(("client_secret", settings.clientSecret))
        }
        request.body = .bytes(ByteBuffer(string: form.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")))
        struct TokenResponse: Decodable { var idToken: String? }
        let (status, body) = try await fetch(request)
        guard status == .ok else { throw Failure(description: "the token endpoint answered \(status.code)") }
        guard let idToken = try? Self.decoder.decode(TokenResponse.self, from: body).idToken else {
            throw Failure(description: "the token endpoint sent no ID token")
        }
        return idToken
    }

    private func provider(refresh: Bool = false) async throws -> Provider {
        if !refresh, let cached = cache.withLock({ $0 }), cached.fetchedAt > Date().addingTimeInterval(-3600) {
            return cached
        }
        let issuer = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
        let (status, body) = try await fetch(HTTPClientRequest(url: issuer + "/.well-known/openid-configuration"))
        guard status == .ok, let discovery = try? Self.decoder.decode(Discovery.self, from: body) else {
            throw Failure(description: "could not read the provider's discovery document (\(status.code))")
        }
        let (jwksStatus, jwks) = try await fetch(HTTPClientRequest(url: discovery.jwksUri))
        guard jwksStatus == .ok else { throw Failure(description: "could not read the provider's keys (\(jwksStatus.code))") }
        let keys = try await JWTKeyCollection().add(jwksJSON: String(decoding: jwks, as: UTF8.self))
        let provider = Provider(discovery: discovery, keys: keys, fetchedAt: Date())
        cache.withLock { $0 = provider }
        return provider
    }

    private func fetch(_ request: HTTPClientRequest) async throws -> (HTTPResponseStatus, Data) {
        let response = try await httpClient.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status, Data(buffer: body))
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    static func formEncode(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
