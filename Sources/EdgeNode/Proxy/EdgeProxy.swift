import AsyncHTTPClient
import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird
import ImageKit
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NodeProtocol
import Synchronization
import WAFKit

/// The request context of the edge: it needs the visitor's address for X-Forwarded-For and
/// the firewall.
public struct EdgeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    let client: ClientIP?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        client = ClientIP(remoteAddress)
    }
}

/// The edge's request flow (product guide §1, §3) as ordered phases, in the manner of Pingora's:
/// the head phases (route by Host → ACME answers → firewall → page rules), then on the full path
/// the request phases (admission → WAF on the body), then GET and HEAD through the RFC 9111 cache
/// and everything else to the origin. A phase ends the flow by answering.
public struct EdgeProxy: HTTPResponder {
    public typealias Context = EdgeRequestContext

    let state: EdgeState
    let cache: EdgeCache
    let origins: OriginFetcher
    let security: EdgeSecurity

    /// Decided on every request's head, in order (see `EdgeHeadPhase`).
    let headPhases: [any EdgeHeadPhase]
    /// Run on the full path after the head phases, in order (see `EdgeRequestPhase`).
    let requestPhases: [any EdgeRequestPhase]
    let answers: EdgeAnswers

    init(state: EdgeState, cache: EdgeCache, origins: OriginFetcher, security: EdgeSecurity) {
        self.state = state
        self.cache = cache
        self.origins = origins
        self.security = security
        let answers = EdgeAnswers(state: state, security: security)
        self.answers = answers
        headPhases = [
            RoutePhase(), ACMEChallengePhase(state: state), FirewallPhase(answers: answers),
            PageRulePhase(answers: answers, clock: cache.clock),
        ]
        requestPhases = [AdmissionPhase(answers: answers), WAFBodyPhase(answers: answers)]
    }

    /// Runs the head phases: the flow ready for the cache or the origin, or the answer of the
    /// phase that ended it.
    func decide(_ head: HTTPRequest, client: ClientIP?) -> (EdgeFlow, EdgeAnswer?) {
        var flow = EdgeFlow(head: head, client: client, routes: state.routes)
        for phase in headPhases {
            if let answer = phase.requestFilter(&flow) { return (flow, answer) }
        }
        return (flow, nil)
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let (decided, answer) = decide(request.head, client: context.client)
        if let answer { return try await answer(request, decided) }
        var flow = decided
        var request = request
        defer { if flow.entered { security.leave() } }
        for phase in requestPhases {
            if let response = try await phase.requestFilter(&request, &flow) { return response }
        }
        let exchange = Exchange(
            head: request.head, body: request.body, route: flow.route, host: flow.host, target: flow.target,
            client: context.remoteAddress?.ipAddress)
        switch request.method {
        case .get, .head: return try await cache.respond(exchange, settings: flow.settings)
        case _ where exchange.isImageRequest:
            state.count(flow.route.domain, status: 405, bytes: 0, hit: false)
            return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"])
        default: return try await forward(exchange)
        }
    }

    /// A fresh hit held in memory, answered on the connection's event loop without starting a
    /// task (`HitFastPath`); nil sends the request down the full path.
    func fastAnswer(_ head: HTTPRequest, client: ClientIP?) -> HitMemo.Answer? {
        guard head.method == .get || head.method == .head,
            !head.headerFields[values: .connection].contains(where: { $0.lowercased().contains("close") })
        else { return nil }
        let (flow, answer) = decide(head, client: client)
        guard answer == nil,
            let answer = cache.fastHit(
                Exchange(head: head, body: nil, route: flow.route, host: flow.host, target: flow.target, client: nil),
                settings: flow.settings)
        else { return nil }
        // Counted only now that the hit is answered here; otherwise the full path counts it.
        guard
            case .pass = security.admit(
                flow.facts, visit: flow.visit, domain: flow.route.domain, policy: flow.route.site.security, network: flow.routes.network)
        else { return nil }
        return answer
    }

    /// Unsafe and other methods go to the origin; a success invalidates what the cache holds for
    /// the URL and for a same-host Location or Content-Location (RFC 9111 §4.4).
    func forward(_ exchange: Exchange) async throws -> Response {
        let outcome = await origins.fetch(exchange, method: exchange.method, streamingBody: true)
        guard case .response(let origin, _) = outcome else {
            return origins.failurePage(outcome, exchange: exchange, state: state)
        }
        let status = Int(origin.status.code)
        if exchange.method != .options, exchange.method != .trace, (200..<400).contains(status) {
            var keys = [exchange.host + exchange.target]
            for name in ["Location", "Content-Location"] {
                if let value = origin.headers.first(name: name), let key = EdgeCache.sameHostKey(value, host: exchange.host) {
                    keys.append(key)
                }
            }
            cache.store.remove(keys: keys)
        }
        let fields = OriginFetcher.fields(OriginFetcher.storedHeaders(origin.headers))
        return cache.deliver(
            Delivery(status: status, fields: fields, source: .stream(origin.body)), exchange: exchange,
            cacheStatus: "fwd=method", hit: false)
    }
}

/// The edge's own answers — firewall pages, challenges, redirects — counted in the node's
/// report. Shared by the phases and the proxy.
struct EdgeAnswers: Sendable {
    let state: EdgeState
    let security: EdgeSecurity

    /// The firewall's answer: its page, counted as blocked.
    func refuse(_ refusal: Refusal, domain: String) -> Response {
        var response = EdgePages.page(refusal.status, title: refusal.title, message: refusal.message, domain: domain)
        if let retryAfter = refusal.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        if let mitigation = refusal.mitigation {
            response.headers[UnderAttackChallenge.mitigatedField] = "block"
            state.countMitigation(domain, mitigation, challenged: false)
        }
        state.count(domain, status: Int(refusal.status.code), bytes: 0, hit: false)
        return response
    }

    func challenge(_ mitigation: Mitigation, head: HTTPRequest, route: EdgeRoutes.Route, target: String, visit: Visit) -> Response {
        state.countMitigation(route.domain, mitigation, challenged: true)
        state.count(route.domain, status: 403, bytes: 0, hit: false)
        let visitor = UnderAttackChallenge.Visitor(domain: route.domain, client: visit.client, head: head)
        return state.routes.network.challenge.page(for: visitor, returnTo: target)
    }

    /// `POST /cdn-cgi/challenge`: a solved challenge earns the clearance cookie and a redirect to
    /// the page asked for; anything else gets a fresh challenge.
    func answerChallenge(_ request: Request, route: EdgeRoutes.Route, visit: Visit) async throws -> Response {
        let body = try await request.body.collect(upTo: 4096)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        let returnTo = UnderAttackChallenge.safeReturn(fields["return"])
        let challenge = state.routes.network.challenge
        let visitor = UnderAttackChallenge.Visitor(domain: route.domain, client: visit.client, head: request.head)
        guard let token = fields["token"], let nonce = fields["nonce"], challenge.verify(token: token, nonce: nonce, visitor: visitor)
        else {
            return self.challenge(.jsChallenge, head: request.head, route: route, target: returnTo, visit: visit)
        }
        let minutes = route.site.security.clearanceMinutes
        var cookie =
            "\(UnderAttackChallenge.cookieName)=\(challenge.clearance(for: visitor, minutes: minutes)); Path=/; Max-Age=\(minutes * 60); HttpOnly; SameSite=Lax"
        if request.head.scheme == "https" { cookie += "; Secure" }
        var headers: HTTPFields = [.location: returnTo, .setCookie: cookie, .cacheControl: "no-store", .contentLength: "0"]
        EdgePages.addSecurityHeaders(&headers)
        state.count(route.domain, status: 303, bytes: 0, hit: false)
        return Response(status: .seeOther, headers: headers)
    }

    /// The first `limit` bytes of a request body (for the WAF) and the whole body to forward.
    static func splitBody(_ body: RequestBody, limit: Int) async throws -> ([UInt8], RequestBody) {
        var iterator = body.makeAsyncIterator()
        var head: [ByteBuffer] = []
        var size = 0
        while size < limit, let chunk = try await iterator.next() {
            head.append(chunk)
            size += chunk.readableBytes
        }
        var prefix: [UInt8] = []
        prefix.reserveCapacity(min(size, limit))
        for chunk in head where prefix.count < limit { prefix += chunk.readableBytesView.prefix(limit - prefix.count) }
        let remaining = RequestBodyRemainder(buffered: head, iterator: iterator)
        return (prefix, RequestBody(asyncSequence: remaining))
    }

    func redirect(to location: String, status: Int, domain: String) -> Response {
        var headers: HTTPFields = [.location: location, .contentLength: "0", .cacheControl: "max-age=3600"]
        headers[.cacheStatus] = "DCDN; fwd=bypass; detail=page-rule"
        EdgePages.addSecurityHeaders(&headers)
        state.count(domain, status: status, bytes: 0, hit: false)
        return Response(status: .init(code: status), headers: headers)
    }
}

/// One visitor request on its way through the edge.
struct Exchange: Sendable {
    let head: HTTPRequest
    /// The visitor's body, streamed to the origin for methods that have one; nil on the fast path.
    let body: RequestBody?
    let route: EdgeRoutes.Route
    /// The Host header's name, normalised.
    let host: String
    /// Path and query.
    let target: String
    let client: String?

    var cacheKey: String { host + target }
    var headers: HTTPFields { head.headerFields }
    var method: HTTPRequest.Method { head.method }
    var isHead: Bool { head.method == .head }
    var isImageRequest: Bool { ImagePipeline.handles(path: target) }
}

/// Talks to customers' origins: builds the forwarded request (X-Forwarded-*, Via, CDN-Loop per
/// RFC 8586, hop-by-hop fields dropped per RFC 9110 §7.6.1) and maps failures to branded pages.
struct OriginFetcher: Sendable {
    enum Outcome: Sendable {
        case response(HTTPClientResponse, requestTime: Double)
        case timedOut
        case unreachable
        /// The origin's address is not one the edge may connect to (`OriginAddresses`).
        case refused(String)
    }

    let clients: OriginClients
    /// Checks and pins origins' addresses.
    var addresses = OriginAddresses(policy: OriginAddressPolicy())
    let logger: Logger
    var timeout: TimeAmount = .seconds(120)
    /// Stamps request times (RFC 9111 §4.2.3); tests move it by hand.
    var clock: CacheClock = .system
    /// Answers `/cdn-cgi/image` on every proxied domain: for that path the edge is the origin,
    /// so its results go through the cache like any other response.
    var images: ImagePipeline?

    static let loopToken = "dcdn"
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade",
    ]
    /// Dropped when the edge asks for the whole object to fill its cache.
    static let conditionalAndRange: Set<String> = [
        "if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range",
    ]

    /// Request fields through which a visitor could make the origin answer for another host,
    /// scheme, port, path, method or client than the one the cache keys on (the kind of cache
    /// poisoning an origin that trusts them allows: Express with `trust proxy`, Symfony's
    /// `X-Original-URL`, Rails' method override). Never forwarded as the visitor sent them: the
    /// edge sets its own forwarding fields (`forwardingFields`) and drops the rest. Every
    /// `X-Forwarded-*` field is dropped, whatever its suffix.
    static let visitorForwarding: Set<String> = [
        "forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "cf-connecting-ip", "fastly-client-ip", "x-cluster-client-ip",
        "client-ip", "x-original-forwarded-for", "x-host", "x-original-host", "x-forwarded-server", "x-original-url", "x-rewrite-url",
        "x-override-url", "x-http-host-override", "front-end-https", "x-url-scheme", "x-scheme", "x-arr-ssl", "x-proxyuser-ip",
    ]
    /// Method overrides (Rails, Express, ASP.NET) turn a cacheable GET into another method at the
    /// origin: dropped from GET and HEAD, kept for the methods APIs use them with.
    static let methodOverride: Set<String> = ["x-http-method-override", "x-http-method", "x-method-override"]

    /// True when the visitor's field `name` (lower case) is not forwarded: the edge replaces it.
    /// Underscores count as hyphens: CGI-style origins (PHP, WSGI, Rack) read `X_Forwarded_Host`
    /// as `HTTP_X_FORWARDED_HOST`, the same variable as `X-Forwarded-Host`.
    static func replacedByEdge(_ name: String, cacheable: Bool) -> Bool {
        let name = name.contains("_") ? name.replacingOccurrences(of: "_", with: "-") : name
        return name == "host" || name.hasPrefix("x-forwarded-") || visitorForwarding.contains(name)
            || (cacheable && methodOverride.contains(name))
    }

    /// The fields the edge sends in place of the visitor's: Host is exactly the name the cache
    /// keyed on (lower case, no port, no final dot), X-Forwarded-For and X-Real-IP the address the
    /// visitor connected from (not a chain the visitor wrote), X-Forwarded-Proto the scheme of the
    /// visitor's connection, Forwarded the same in RFC 7239's form; Via and CDN-Loop (RFC 8586)
    /// mark the request as passed through DCDN.
    static func forwardingFields(host: String, scheme: String, client: String?, via: String?) -> [(String, String)] {
        let client = client ?? "unknown"
        let node = client.contains(":") ? "\"[\(client)]\"" : client
        return [
            ("Host", host), ("X-Forwarded-For", client), ("X-Real-IP", client), ("X-Forwarded-Proto", scheme),
            ("X-Forwarded-Host", host), ("Forwarded", "for=\(node);host=\(host);proto=\(scheme)"),
            ("Via", (via.map { "\($0), " } ?? "") + "1.1 \(loopToken)"), ("CDN-Loop", loopToken),
        ]
    }

    /// `validators` replace the visitor's conditional fields (a cache revalidation); `cacheFill`
    /// drops the visitor's conditional and Range fields so the origin sends the whole object.
    func fetch(
        _ exchange: Exchange, method: HTTPRequest.Method, streamingBody: Bool = false, cacheFill: Bool = false,
        validators: [(String, String)] = []
    ) async -> Outcome {
        if let images, exchange.isImageRequest {
            let answer = await images.answer(
                target: exchange.target, origin: (exchange.head.scheme ?? "http") + "://" + (exchange.head.authority ?? exchange.host),
                accept: exchange.headers[.accept])
            let response = HTTPClientResponse(
                status: HTTPResponseStatus(statusCode: answer.status), headers: HTTPHeaders(answer.headers), body: .bytes(answer.body))
            return .response(response, requestTime: clock.now())
        }
        let route = exchange.route
        var outbound = HTTPClientRequest(url: Self.originURL(route, path: exchange.target))
        outbound.method = HTTPMethod(rawValue: method.rawValue)
        let connectionTokens = Set(
            exchange.headers[values: .connection].flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            })
        var dropped = cacheFill || !validators.isEmpty ? Self.conditionalAndRange : []
        // No body is sent (a cache fill, or a GET the visitor sent one with): the length of the
        // visitor's body must not reach the origin, which would wait for it.
        let sendsBody =
            streamingBody && exchange.body != nil
            && (exchange.headers[.contentLength] != nil || exchange.headers[.transferEncoding] != nil)
        if !sendsBody { dropped.insert("content-length") }
        let cacheable = method == .get || method == .head
        for field in exchange.headers {
            let name = field.name.canonicalName
            guard !Self.hopByHop.contains(name), !connectionTokens.contains(name), !dropped.contains(name), name != "via",
                !Self.replacedByEdge(name, cacheable: cacheable)
            else { continue }
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        for (name, value) in validators { outbound.headers.add(name: name, value: value) }
        for (name, value) in Self.forwardingFields(
            host: exchange.host, scheme: exchange.head.scheme ?? "http", client: exchange.client, via: exchange.headers[.via])
        {
            outbound.headers.add(name: name, value: value)
        }
        if sendsBody, let body = exchange.body {
            let length = exchange.headers[.contentLength].flatMap(Int64.init).map { HTTPClientRequest.Body.Length.known($0) } ?? .unknown
            outbound.body = .stream(body, length: length)
        }
        let address: IPAddress
        switch await addresses.decide(route.originHost) {
        case .connect(let checked): address = checked
        case .refused(let reason):
            logger.warning("origin address refused", metadata: ["domain": "\(route.domain)", "reason": "\(reason)"])
            return .refused(reason)
        case .unresolved:
            logger.info("origin host does not resolve", metadata: ["domain": "\(route.domain)", "host": "\(route.originHost)"])
            return .unreachable
        }
        let requestTime = clock.now()
        do {
            let client = clients.client(verifying: route.verifyOrigin, host: route.originHost, address: address)
            let response = try await client.execute(outbound, timeout: timeout)
            return .response(response, requestTime: requestTime)
        } catch let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded {
            return .timedOut
        } catch {
            logger.info("origin unreachable", metadata: ["domain": "\(route.domain)", "error": "\(error)"])
            return .unreachable
        }
    }

    func failurePage(_ outcome: Outcome, exchange: Exchange, state: EdgeState) -> Response {
        let domain = exchange.route.domain
        if case .refused = outcome {
            // Cloudflare's error 1000 ("DNS points to prohibited IP") answers the same way.
            state.count(domain, status: 403, bytes: 0, hit: false)
            return EdgePages.page(
                .forbidden, title: "The origin's address is not allowed",
                message: "\(domain) points at an address DCDN does not connect to (private, loopback or link-local).",
                domain: domain)
        }
        if case .timedOut = outcome {
            state.count(domain, status: 504, bytes: 0, hit: false)
            return EdgePages.page(
                .gatewayTimeout, title: "The origin did not answer in time",
                message: "DCDN waited for \(domain)'s server, which did not respond.", domain: domain)
        }
        state.count(domain, status: 502, bytes: 0, hit: false)
        return EdgePages.page(
            .badGateway, title: "The origin is unreachable", message: "DCDN could not connect to \(domain)'s server.", domain: domain)
    }

    /// The origin's fields without hop-by-hop ones (nor those its Connection field names).
    static func storedHeaders(_ headers: HTTPHeaders) -> [[String]] {
        let tokens = Set(
            headers["Connection"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        return headers.compactMap { name, value in
            let lower = name.lowercased()
            return Self.hopByHop.contains(lower) || tokens.contains(lower) ? nil : [name, value]
        }
    }

    static func fields(_ pairs: [[String]]) -> HTTPFields { CachedResponse.fields(pairs) }

    static func originURL(_ route: EdgeRoutes.Route, path: String) -> String {
        let host = route.originHost.contains(":") ? "[\(route.originHost)]" : route.originHost
        return "\(route.originTLS ? "https" : "http")://\(host):\(route.originPort)\(path.hasPrefix("/") ? path : "/" + path)"
    }
}

/// Pooled, kept-alive clients to origins: one verifying origin certificates (strict), one not
/// (full), for address origins; and for each host-name origin a client pinned to the address
/// `OriginAddresses` checked (the name stays in the URL for Host, SNI and the certificate check).
public final class OriginClients: Sendable {
    let verified: HTTPClient
    let unverified: HTTPClient
    private let verifying: HTTPClient.Configuration
    private let notVerifying: HTTPClient.Configuration
    /// Pinned clients by "strict|name": the address they connect to and the client.
    private let pinned = Mutex<[String: (address: IPAddress, client: HTTPClient)]>([:])

    /// `originCABundle`: a PEM file of extra roots that strict mode also trusts (an origin CA).
    public init(connectTimeout: TimeAmount = .seconds(10), readTimeout: TimeAmount = .seconds(60), originCABundle: String? = nil) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: connectTimeout, read: readTimeout))
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        // A refused connection or a rejected certificate is a 502 now, not after retrying until
        // the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        if let originCABundle {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.file(originCABundle)]
            configuration.tlsConfiguration = tls
        }
        verifying = configuration
        verified = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        configuration.tlsConfiguration = .makeClientConfiguration()
        configuration.tlsConfiguration?.certificateVerification = .none
        notVerifying = configuration
        unverified = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The client for an origin at `host` that was checked to connect to `address`.
    func client(verifying strict: Bool, host: String, address: IPAddress) -> HTTPClient {
        if IPAddress(host) != nil { return strict ? verified : unverified }
        let key = (strict ? "strict|" : "full|") + host
        let (client, replaced) = pinned.withLock { pinned -> (HTTPClient, HTTPClient?) in
            if let current = pinned[key], current.address == address { return (current.client, nil) }
            var configuration = strict ? verifying : notVerifying
            configuration.dnsOverride = [host: address.description]
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let old = pinned.updateValue((address, client), forKey: key)
            return (client, old?.client)
        }
        if let replaced {
            // Requests still running on the old address finish first.
            Task {
                try? await Task.sleep(for: .seconds(300))
                try? await replaced.shutdown()
            }
        }
        return client
    }

    public func shutdown() async {
        try? await verified.shutdown()
        try? await unverified.shutdown()
        for (_, entry) in pinned.withLock({ $0 }) { try? await entry.client.shutdown() }
    }
}

/// A body whose first chunks were read already: those, then the rest.
struct RequestBodyRemainder: AsyncSequence, @unchecked Sendable {  // iterated once, by one task
    typealias Element = ByteBuffer
    let buffered: [ByteBuffer]
    let iterator: RequestBody.AsyncIterator

    struct AsyncIterator: AsyncIteratorProtocol {
        var buffered: [ByteBuffer]
        var iterator: RequestBody.AsyncIterator

        mutating func next() async throws -> ByteBuffer? {
            if !buffered.isEmpty { return buffered.removeFirst() }
            return try await iterator.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffered: buffered, iterator: iterator) }
}

extension HTTPField.Name {
    static let cdnLoop = Self("CDN-Loop")!
}
