import AsyncHTTPClient
import DCDNCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The request context of the edge: it needs the visitor's address for X-Forwarded-For.
public struct EdgeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Reverse proxy to customers' origins: routes by Host, forwards with X-Forwarded-*, Via and
/// CDN-Loop (RFC 8586), drops hop-by-hop headers (RFC 9110 §7.6.1), streams bodies both ways.
public struct EdgeProxy: HTTPResponder {
    public typealias Context = EdgeRequestContext

    let state: EdgeState
    let clients: OriginClients
    let logger: Logger
    static let loopToken = "dcdn"
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade",
    ]

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard let host = request.head.authority, let route = state.routes.route(forHost: host) else {
            return EdgePages.page(.notFound, title: "Unknown site", message: "This DCDN node does not serve that site.")
        }
        if request.headers[values: .cdnLoop].contains(where: { $0.lowercased().contains(Self.loopToken) }) {
            return EdgePages.page(
                .init(code: 508), title: "Loop detected", message: "This request already passed through DCDN.", domain: route.domain)
        }
        var outbound = HTTPClientRequest(url: Self.originURL(route, path: request.uri.description))
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        let connectionTokens = Set(
            request.headers[values: .connection].flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            })
        for field in request.headers {
            let name = field.name.canonicalName
            guard !Self.hopByHop.contains(name), !connectionTokens.contains(name), name != "host", name != "x-forwarded-for" else {
                continue
            }
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        let forwardedFor = request.headers[.xForwardedFor].map { "\($0), \(client)" } ?? client
        outbound.headers.add(name: "Host", value: host)
        outbound.headers.add(name: "X-Forwarded-For", value: forwardedFor)
        outbound.headers.add(name: "X-Forwarded-Proto", value: "http")
        outbound.headers.add(name: "X-Forwarded-Host", value: host)
        outbound.headers.add(name: "Via", value: (request.headers[.via].map { "\($0), " } ?? "") + "1.1 \(Self.loopToken)")
        outbound.headers.add(name: "CDN-Loop", value: Self.loopToken)
        if request.headers[.contentLength] != nil || request.headers[.transferEncoding] != nil {
            let length = request.headers[.contentLength].flatMap(Int64.init).map { HTTPClientRequest.Body.Length.known($0) } ?? .unknown
            outbound.body = .stream(request.body, length: length)
        }

        let origin: HTTPClientResponse
        do {
            origin = try await clients.client(verifying: route.verifyOrigin).execute(outbound, timeout: .seconds(120))
        } catch let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded {
            state.count(route.domain, status: 504, bytes: 0)
            return EdgePages.page(
                .gatewayTimeout, title: "The origin did not answer in time",
                message: "DCDN waited for \(route.domain)'s server, which did not respond.", domain: route.domain)
        } catch {
            logger.info("origin unreachable", metadata: ["domain": "\(route.domain)", "error": "\(error)"])
            state.count(route.domain, status: 502, bytes: 0)
            return EdgePages.page(
                .badGateway, title: "The origin is unreachable", message: "DCDN could not connect to \(route.domain)'s server.",
                domain: route.domain)
        }
        var headers = HTTPFields()
        let responseTokens = Set(
            origin.headers["Connection"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        for (name, value) in origin.headers {
            let lower = name.lowercased()
            guard !Self.hopByHop.contains(lower), !responseTokens.contains(lower), let field = HTTPField.Name(name) else { continue }
            headers.append(HTTPField(name: field, value: value))
        }
        headers.append(HTTPField(name: .via, value: "1.1 \(Self.loopToken)"))
        EdgePages.addSecurityHeaders(&headers)
        let counted = CountingBody(base: origin.body, state: state, domain: route.domain, status: Int(origin.status.code))
        return Response(status: .init(code: Int(origin.status.code)), headers: headers, body: ResponseBody(asyncSequence: counted))
    }

    static func originURL(_ route: EdgeRoutes.Route, path: String) -> String {
        let host = route.originHost.contains(":") ? "[\(route.originHost)]" : route.originHost
        return "\(route.originTLS ? "https" : "http")://\(host):\(route.originPort)\(path.hasPrefix("/") ? path : "/" + path)"
    }
}

/// Streams the origin's body while counting its bytes for the domain's traffic report.
struct CountingBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: HTTPClientResponse.Body
    let state: EdgeState
    let domain: String
    let status: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPClientResponse.Body.AsyncIterator
        let state: EdgeState
        let domain: String
        let status: Int
        var bytes = 0

        mutating func next() async throws -> ByteBuffer? {
            if let buffer = try await base.next() {
                bytes += buffer.readableBytes
                return buffer
            }
            state.count(domain, status: status, bytes: bytes)
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), state: state, domain: domain, status: status)
    }
}

/// Two pooled, kept-alive clients: one verifying origin certificates (strict), one not (full).
public final class OriginClients: Sendable {
    let verified: HTTPClient
    let unverified: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        configuration.decompression = .disabled
        verified = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        configuration.tlsConfiguration = .makeClientConfiguration()
        configuration.tlsConfiguration?.certificateVerification = .none
        unverified = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func client(verifying: Bool) -> HTTPClient { verifying ? verified : unverified }

    public func shutdown() async {
        try? await verified.shutdown()
        try? await unverified.shutdown()
    }
}

/// The routes in force and the traffic counters of the current report window.
public final class EdgeState: Sendable {
    private let current = Mutex(EdgeRoutes(snapshot: nil))
    private let counters = Mutex<[String: NodeReport.DomainCounters]>([:])

    public init() {}

    public var routes: EdgeRoutes { current.withLock { $0 } }

    public func apply(_ snapshot: NodeConfigSnapshot) {
        let routes = EdgeRoutes(snapshot: snapshot)
        current.withLock { $0 = routes }
    }

    func count(_ domain: String, status: Int, bytes: Int) {
        counters.withLock { counters in
            var entry = counters[domain] ?? NodeReport.DomainCounters(domain: domain)
            entry.requests += 1
            entry.bytes += Int64(bytes)
            switch status / 100 {
            case 2: entry.status2xx += 1
            case 3: entry.status3xx += 1
            case 4: entry.status4xx += 1
            default: entry.status5xx += 1
            }
            counters[domain] = entry
        }
    }

    /// The counters since the last call.
    public func drainCounters() -> [NodeReport.DomainCounters] {
        counters.withLock { counters in
            defer { counters = [:] }
            return Array(counters.values)
        }
    }
}

extension HTTPField.Name {
    static let cdnLoop = Self("CDN-Loop")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
