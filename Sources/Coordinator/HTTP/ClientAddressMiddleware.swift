import DCDNCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Works out the visitor's IP: the socket's peer, or — when that peer is a configured trusted
/// proxy — the right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
struct ClientAddressMiddleware: RouterMiddleware {
    let trustedProxies: [CIDR]

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws
        -> Response
    {
        var context = context
        context.clientIP = clientIP(
            peer: context.remoteAddress?.ipAddress.flatMap(IPAddress.init), forwardedFor: request.headers[values: .xForwardedFor])
        return try await next(request, context)
    }

    func clientIP(peer: IPAddress?, forwardedFor: [String]) -> IPAddress? {
        guard var address = peer?.unmapped else { return nil }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard trustedProxies.contains(where: { $0.contains(address) }), let forwarded = IPAddress(hop) else { break }
            address = forwarded.unmapped
        }
        return address
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
    static let xRequestID = Self("X-Request-ID")!
}
