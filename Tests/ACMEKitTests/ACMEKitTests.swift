import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import ACMEKit

@Suite("ACME client pieces")
struct ACMEKitTests {
    @Test("a JWS is flattened JSON whose ES256 signature verifies with the account's public key")
    func jws() throws {
        let key = AccountKey()
        let body = try key.sign(
            url: "https://ca.example/new-order", nonce: "n0nce", kid: "https://ca.example/acct/1", payload: Data("{}".utf8))
        let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: String])
        let protectedPart = try #require(object["protected"])
        let protected = try #require(Base64URL.decode(protectedPart))
        let header = try #require(try JSONSerialization.jsonObject(with: protected) as? [String: Any])
        #expect(
            header["alg"] as? String == "ES256" && header["nonce"] as? String == "n0nce"
                && header["kid"] as? String == "https://ca.example/acct/1")
        #expect(header["jwk"] == nil, "kid and jwk are exclusive")
        let signaturePart = try #require(object["signature"])
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: try #require(Base64URL.decode(signaturePart)))
        let signingInput = Data((object["protected"]! + "." + object["payload"]!).utf8)
        #expect(key.privateKey.publicKey.isValidSignature(signature, for: signingInput))
        #expect(Base64URL.decode(object["payload"]!) == Data("{}".utf8))

        let registration = try key.sign(url: "https://ca.example/new-acct", nonce: "n", kid: nil, payload: nil)
        let first = try #require(try JSONSerialization.jsonObject(with: registration) as? [String: String])
        let firstHeader = try #require(try JSONSerialization.jsonObject(with: Base64URL.decode(first["protected"]!)!) as? [String: Any])
        let jwk = firstHeader["jwk"] as? [String: String]
        #expect(jwk?["kty"] == "EC" && jwk?["crv"] == "P-256" && first["payload"] == "", "POST-as-GET has an empty payload")
    }

    @Test("key authorizations use the RFC 7638 thumbprint; DNS-01 values are its SHA-256")
    func keyAuthorization() throws {
        let key = AccountKey()
        let again = try AccountKey(pem: key.pem)
        #expect(key.thumbprint == again.thumbprint && key.thumbprint.count == 43 && !key.thumbprint.contains("="))
        #expect(key.keyAuthorization(token: "tok") == "tok." + key.thumbprint)
        let expected = Base64URL.encode(Data(SHA256.hash(data: Data(("tok." + key.thumbprint).utf8))))
        #expect(key.dnsValue(token: "tok") == expected)
    }

    @Test("the CSR is signed and names every host in subjectAltName")
    func csr() throws {
        let request = CertificateRequest(names: ["example.com", "*.example.com"])
        let csr = try CertificateSigningRequest(derEncoded: try request.csr())
        #expect(csr.publicKey == Certificate.PublicKey(request.privateKey.publicKey))
        #expect(csr.publicKey.isValidSignature(csr.signature, for: csr))
        let sans = try csr.attributes.extensionRequest?.extensions.subjectAlternativeNames
        #expect(sans?.map { "\($0)" }.sorted() == [GeneralName.dnsName("*.example.com"), .dnsName("example.com")].map { "\($0)" }.sorted())
    }

    @Test("problems keep the CA's words; Retry-After is seconds or a date")
    func problems() {
        let problem = ACMEClient.problem(
            [
                "type": "urn:ietf:params:acme:error:rateLimited", "detail": "too many certificates",
                "subproblems": [["detail": "example.com"]],
            ],
            status: 429, retryAfter: 120)
        #expect(problem?.isRateLimited == true && problem?.description == "rateLimited: too many certificates (example.com)")
        #expect(ACMEClient.retryAfter("30") == 30)
        let later = ACMEClient.retryAfter("Wed, 21 Oct 2099 07:28:00 GMT") ?? 0
        #expect(later > 86400)
        #expect(ACMEClient.retryAfter("soon") == nil)
    }
}
