import Foundation
import OpenAPIKit

/// Certificates, and dcdn dev's ACME certificate authority.
extension OpenAPIDocument {
    static func tlsOperations(isDev: Bool) -> [Operation] {
        var operations: [Operation] = [
            Operation(
                method: "get", path: "/api/v1/cdn/domains/{id}/certificate",
                summary: "The domain's TLS certificate: status, names, expiry, next attempt, last error in plain words", tag: "SSL/TLS",
                access: .user, responses: [(200, "Certificate"), (404, "Error")]),
            Operation(
                method: "post", path: "/api/v1/cdn/domains/{id}/certificate",
                summary: "Issue the certificate now ({\"wildcard\": true} for apex + *. through DNS-01)", tag: "SSL/TLS", access: .user,
                body: "CertificateRequest", responses: [(202, "Certificate"), (404, "Error"), (409, "Error")]),
        ]
        if isDev {
            // dcdn dev's certificate authority (RFC 8555); requests are JWS-signed (application/jose+json).
            operations += [
                Operation(
                    method: "get", path: "/dev-acme/directory", summary: "Dev CA: ACME directory (dev mode only)", tag: "Development",
                    access: .publicRoute, responses: [(200, "application/json")]),
                Operation(
                    method: "get", path: "/dev-acme/renewal-info/{id}", summary: "Dev CA: ACME Renewal Information (RFC 9773)",
                    tag: "Development", access: .publicRoute, responses: [(200, "application/json"), (404, "application/problem+json")]),
                Operation(
                    method: "head", path: "/dev-acme/new-nonce", summary: "Dev CA: a replay nonce", tag: "Development",
                    access: .publicRoute, responses: [(200, nil)]),
                Operation(
                    method: "get", path: "/dev-acme/new-nonce", summary: "Dev CA: a replay nonce", tag: "Development",
                    access: .publicRoute, responses: [(204, nil)]),
                Operation(
                    method: "post", path: "/dev-acme/{kind}", summary: "Dev CA: new-account, new-order", tag: "Development",
                    access: .publicRoute,
                    responses: [(200, "application/json"), (201, "application/json"), (400, "application/problem+json")]),
                Operation(
                    method: "post", path: "/dev-acme/{kind}/{id}", summary: "Dev CA: order, authz, challenge, finalize, certificate",
                    tag: "Development", access: .publicRoute,
                    responses: [(200, "application/json"), (400, "application/problem+json"), (404, "application/problem+json")]),
            ]
        }
        return operations
    }
}

extension TLSArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.tlsOperations(isDev: isDev) }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.tlsSchemas }
}

extension OpenAPIDocument {
    static var tlsSchemas: [String: JSONSchema] {
        [
            "Certificate": object(
                [
                    "status": .string(allowedValues: ["pending", "issued", "failed"]), "names": .array(items: string),
                    "wildcard": boolean, "issued_at": string, "expires_at": string, "next_attempt_at": string,
                    "attempts": .integer,
                    "last_error": string, "ca_directory": string,
                ], required: ["status", "names", "wildcard", "attempts"]),
            "CertificateRequest": object(["wildcard": boolean], required: []),
        ]
    }
}
