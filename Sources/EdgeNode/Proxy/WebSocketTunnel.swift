import DCDNCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// WebSocket passthrough (RFC 6455 over HTTP/1.1 Upgrade): the visitor's upgrade request is
/// replayed to the origin; when the origin switches protocols, the visitor gets the origin's 101
/// (so `Sec-WebSocket-Accept` and the chosen subprotocol and extensions are the origin's) and the
/// two connections are joined byte for byte. Anything else falls back to normal proxying.
struct WebSocketTunnel: NIOTypedHTTPServerProtocolUpgrader, Sendable {
    typealias UpgradeResult = EdgeChannel.HTTP1Result

    let state: EdgeState
    let logger: Logger
    /// Checks and pins the origin's address, as for every other origin connection.
    let addresses: OriginAddresses
    var connectTimeout: TimeAmount = .seconds(10)
    /// The visitor's connection is TLS (X-Forwarded-Proto: https).
    var secure = false

    var supportedProtocol: String { "websocket" }
    var requiredUpgradeHeaders: [String] { [] }

    struct Refused: Error, CustomStringConvertible { var description: String }

    /// One connection's upgrade: the origin connection that answered 101, kept until `upgrade`
    /// joins it to the visitor's, or why the upgrade was refused. Used on the connection's event
    /// loop only; a new one for every connection.
    final class Attempt: @unchecked Sendable {
        var origin: (any Channel)?
        var refusal: Refusal?
    }
    let attempt = Attempt()

    /// A refused upgrade is answered, not passed to the HTTP pipeline (NIO does not deliver it).
    enum Refusal: Sendable {
        case unknownHost, loop, originUnreachable
        /// The origin's address is not one the edge may connect to.
        case originRefused
        /// The origin's own status for a request it would not upgrade.
        case origin(Int)
    }

    /// This tunnel's configuration with a fresh attempt, for one connection.
    func forConnection(secure: Bool) -> WebSocketTunnel {
        WebSocketTunnel(state: state, logger: logger, addresses: addresses, connectTimeout: connectTimeout, secure: secure)
    }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders)
        -> EventLoopFuture<HTTPHeaders>
    {
        let loop = channel.eventLoop
        let attempt = self.attempt
        guard let authority = upgradeRequest.headers.first(name: "Host"),
            let route = state.routes.route(forName: EdgeRoutes.hostName(authority))
        else {
            attempt.refusal = .unknownHost
            return loop.makeFailedFuture(Refused(description: "unknown host"))
        }
        if upgradeRequest.headers["CDN-Loop"].contains(where: { $0.lowercased().contains(OriginFetcher.loopToken) }) {
            attempt.refusal = .loop
            return loop.makeFailedFuture(Refused(description: "loop"))
        }
        let client = channel.remoteAddress?.ipAddress ?? "unknown"
        let head = Self.originRequest(upgradeRequest, authority: authority, client: client, secure: secure)
        let reader = ResponseHeadReader()
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelInitializer { origin in
                origin.eventLoop.makeCompletedFuture {
                    if route.originTLS {
                        var tls = TLSConfiguration.makeClientConfiguration()
                        if !route.verifyOrigin { tls.certificateVerification = .none }
                        let context = try NIOSSLContext(configuration: tls)
                        let name = IPAddress(route.originHost) == nil ? route.originHost : nil
                        try origin.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: name))
                    }
                    try origin.pipeline.syncOperations.addHandler(reader)
                }
            }
        let addresses = self.addresses
        return loop.makeFutureWithTask { await addresses.decide(route.originHost) }.flatMapThrowing { decision -> SocketAddress in
            switch decision {
            case .connect(let address): return try SocketAddress(ipAddress: address.description, port: route.originPort)
            case .refused(let reason):
                attempt.refusal = .originRefused
                throw Refused(description: reason)
            case .unresolved: throw Refused(description: "the origin host does not resolve")
            }
        }.flatMap { address in bootstrap.connect(to: address) }.flatMap { origin in
            origin.writeAndFlush(ByteBuffer(string: head)).flatMap { reader.response }.flatMapThrowing { answer -> HTTPHeaders in
                let (status, headers) = answer
                guard status == 101 else {
                    origin.close(promise: nil)
                    attempt.refusal = .origin(status)
                    throw Refused(description: "origin answered \(status)")
                }
                attempt.origin = origin
                var response = initialResponseHeaders
                for (name, value) in headers where !["connection", "upgrade", "content-length"].contains(name.lowercased()) {
                    response.add(name: name, value: value)
                }
                response.add(name: "Via", value: "1.1 \(OriginFetcher.loopToken)")
                return response
            }
        }.flatMapError { error -> EventLoopFuture<HTTPHeaders> in
            logger.info("websocket upgrade not passed through", metadata: ["domain": "\(route.domain)", "error": "\(error)"])
            if attempt.refusal == nil { attempt.refusal = .originUnreachable }
            return loop.makeFailedFuture(error)
        }.map { headers in
            state.count(route.domain, status: 101, bytes: 0, hit: false)
            return headers
        }
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        guard let origin = attempt.origin else { return channel.eventLoop.makeFailedFuture(Refused(description: "no origin")) }
        attempt.origin = nil
        return channel.eventLoop.makeCompletedFuture {
            let (visitorSide, originSide) = GlueHandler.matchedPair()
            // Raw bytes from here on: the HTTP parse-error answerer above the (removed) decoder goes too.
            if let parseErrors = try? channel.pipeline.syncOperations.context(handlerType: ParseErrorResponder.self) {
                channel.pipeline.syncOperations.removeHandler(context: parseErrors, promise: nil)
            }
            try channel.pipeline.syncOperations.addHandler(visitorSide)
            // The origin's reader hands over any bytes that followed its 101 as it leaves.
            try origin.pipeline.syncOperations.addHandler(originSide)
            let reader = try origin.pipeline.syncOperations.context(handlerType: ResponseHeadReader.self)
            origin.pipeline.syncOperations.removeHandler(context: reader, promise: nil)
            return .tunnel(channel)
        }
    }

    /// The visitor's request as the origin gets it: hop-by-hop fields dropped except the upgrade
    /// itself, forwarding fields added.
    static func originRequest(_ request: HTTPRequestHead, authority: String, client: String, secure: Bool) -> String {
        let connectionTokens = Set(
            request.headers["Connection"].flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            })
        var text = "GET \(request.uri) HTTP/1.1\r\nConnection: Upgrade\r\n"
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if lower == "upgrade" {
                text += "Upgrade: \(value)\r\n"
                continue
            }
            guard !OriginFetcher.hopByHop.contains(lower), !connectionTokens.contains(lower), lower != "via",
                !OriginFetcher.replacedByEdge(lower, cacheable: true)
            else { continue }
            text += "\(name): \(value)\r\n"
        }
        let via = request.headers["Via"].isEmpty ? nil : request.headers["Via"].joined(separator: ", ")
        for (name, value) in OriginFetcher.forwardingFields(
            host: EdgeRoutes.hostName(authority), scheme: secure ? "https" : "http", client: client, via: via)
        {
            text += "\(name): \(value)\r\n"
        }
        return text + "\r\n"
    }
}

/// Reads the origin's response head (at most 64 KiB); bytes after it are kept and passed on when
/// the handler is removed, so nothing the origin sent early is lost.
final class ResponseHeadReader: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffer = ByteBuffer()
    private var promise: EventLoopPromise<(Int, [(String, String)])>?
    private var done = false
    private var futureResult: EventLoopFuture<(Int, [(String, String)])>?

    var response: EventLoopFuture<(Int, [(String, String)])> { futureResult! }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: (Int, [(String, String)]).self)
        self.promise = promise
        futureResult = promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        guard !done else { return }
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if buffer.readableBytes > 65_536 { fail(context, "response head too large") }
            return
        }
        let headLength = end.upperBound - view.startIndex
        let head = buffer.readString(length: headLength) ?? ""
        var lines = head.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard !lines.isEmpty else { return fail(context, "empty response") }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            return fail(context, "not an HTTP/1 response")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        done = true
        promise?.succeed((status, headers))
        promise = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context, "origin closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.close(promise: nil)
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if buffer.readableBytes > 0 {
            context.fireChannelRead(Self.wrapInboundOut(buffer))
            context.fireChannelReadComplete()
            buffer = ByteBuffer()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        promise?.fail(WebSocketTunnel.Refused(description: reason))
        promise = nil
    }
}

/// Joins two channels on one event loop: what one reads the other writes, with back-pressure,
/// half-closure and closure passed across (the pattern of SwiftNIO's connect-proxy example).
final class GlueHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler()
        let second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    private func partnerWriteEOF() { context?.close(mode: .output, promise: nil) }
    private func partnerCloseFull() { context?.close(promise: nil) }
    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { partner?.partnerWriteEOF() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { partner?.partnerCloseFull() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
