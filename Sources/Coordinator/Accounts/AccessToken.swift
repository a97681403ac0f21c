import Crypto
import Foundation
import JWTKit

/// The JWT `POST /auth/login` returns: HS256 with a key derived from the master secret.
struct AccessTokenClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    /// The user's auth epoch when issued; a password change makes older tokens invalid.
    var epoch: Int

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

public struct AccessTokenSigner: Sendable {
    let keys: JWTKeyCollection
    public let lifetime: TimeInterval

    public init(secrets: Secrets, lifetime: TimeInterval = 24 * 3600) async {
        let key = secrets.jwtKey.withUnsafeBytes { HMACKey(key: SymmetricKey(data: Data($0))) }
        keys = await JWTKeyCollection().add(hmac: key, digestAlgorithm: .sha256)
        self.lifetime = lifetime
    }

    public func sign(userID: UUID, epoch: Int, now: Date = Date()) async throws -> String {
        try await keys.sign(
            AccessTokenClaims(
                sub: .init(value: userID.uuidString), exp: .init(value: now.addingTimeInterval(lifetime)),
                iat: .init(value: now), epoch: epoch))
    }

    /// The user ID and epoch of a valid token, or nil.
    public func verify(_ token: String) async -> (userID: UUID, epoch: Int)? {
        guard let claims = try? await keys.verify(token, as: AccessTokenClaims.self),
            let id = UUID(uuidString: claims.sub.value)
        else { return nil }
        return (id, claims.epoch)
    }
}
