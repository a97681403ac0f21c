import DCDNCore
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
import WAFKit

/// The edge's listeners: HTTP/1.1 and HTTP/2 on one port, plain or TLS. A connection that opens
/// with the HTTP/2 preface speaks HTTP/2, any other HTTP/1.1: without TLS that is HTTP/2 with
/// prior knowledge (RFC 9113 §3.3); over TLS, ALPN offers h2 and http/1.1 and the client's choice
/// shows in the same first bytes. HTTP/2 is `EdgeHTTP2`; both answer fresh memory hits on the
/// event loop.
struct EdgeChannel: HTTPChannelHandler {
    /// An HTTP/1.1 connection: requests for the responder, or a WebSocket joined to its origin.
    enum HTTP1Result: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case tunnel(any Channel)
        /// A WebSocket upgrade the edge answers itself, then closes.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, WebSocketTunnel.Refusal)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<NIONegotiatedHTTPVersion<EventLoopFuture<HTTP1Result>, EdgeHTTP2.Value>>
        let channel: any Channel
    }

    let responder: Responder
    let http2: EdgeHTTP2
    let webSockets: WebSocketTunnel
    /// Answers fresh memory hits on the event loop (HTTP/1.1); nil turns that off.
    let fastPath: (@Sendable (HTTPRequest, ClientIP?) -> HitMemo.Answer?)?
    /// Terminates TLS first when set (the HTTPS listener).
    let tls: NIOSSLContext?
    /// The connection cap and the Slowloris guard; nil turns them off.
    let defences: ConnectionDefences?

    init(
        responder: @escaping Responder, webSockets: WebSocketTunnel, fastPath: (@Sendable (HTTPRequest, ClientIP?) -> HitMemo.Answer?)?,
        tls: NIOSSLContext? = nil, defences: ConnectionDefences? = nil
    ) {
        self.defences = defences
        self.responder = responder
        self.webSockets = webSockets
        self.fastPath = fastPath
        self.tls = tls
        http2 = EdgeHTTP2(responder: responder, fastPath: fastPath)
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (http2, webSockets, fastPath, tls, defences) = (http2, webSockets, fastPath, tls, defences)
        let client = ClientIP(channel.remoteAddress)
        if let defences, let client {
            guard defences.security.connections.admit(client, limit: defences.settings.maxConnectionsPerIP) else {
                // Over the per-address cap: closed before TLS or HTTP costs anything.
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
            }
            channel.closeFuture.whenComplete { _ in defences.security.connections.release(client) }
        }
        return channel.eventLoop.makeCompletedFuture {
            if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
            let negotiated = channel.eventLoop.makePromise(
                of: NIONegotiatedHTTPVersion<EventLoopFuture<HTTP1Result>, EdgeHTTP2.Value>.self)
            let sniffer = PrefaceSniffer(negotiated: negotiated) { isHTTP2 in
                if isHTTP2 { return http2.setup(channel: channel, client: client, secure: tls != nil).map { .http2($0) } }
                return channel.eventLoop.makeCompletedFuture {
                    .http1_1(
                        try Self.setupHTTP1(
                            channel: channel, webSockets: webSockets, fastPath: fastPath, secure: tls != nil, client: client,
                            defences: defences, logger: logger))
                }
            }
            try channel.pipeline.syncOperations.addHandler(sniffer)
            return Value(negotiated: negotiated.futureResult, channel: channel)
        }
    }

    /// HTTP/1.1 with the WebSocket upgrade: Hummingbird's HTTP/1 pipeline when there is no upgrade.
    static func setupHTTP1(
        channel: any Channel, webSockets: WebSocketTunnel, fastPath: (@Sendable (HTTPRequest, ClientIP?) -> HitMemo.Answer?)?,
        secure: Bool, client: ClientIP?, defences: ConnectionDefences?, logger: Logger
    ) throws -> EventLoopFuture<HTTP1Result> {
        let tunnel = webSockets.forConnection(secure: secure)
        let clock = defences.map { _ in RequestClock() }
        if let defences, let clock {
            try channel.pipeline.syncOperations.addHandler(SlowClientGuard(clock: clock, defences: defences, client: client))
        }
        let upgrades = NIOTypedHTTPServerUpgradeConfiguration<HTTP1Result>(upgraders: [tunnel]) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let slowGuard = try? channel.pipeline.syncOperations.handler(type: SlowClientGuard.self) {
                    try channel.pipeline.syncOperations.addHandler(RequestPhaseWatch(guardHandler: slowGuard))
                }
                if let fastPath {
                    try channel.pipeline.syncOperations.addHandler(HitFastPath(secure: secure, client: client, answer: fastPath))
                }
                try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: secure))
                try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
                let connection = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                    wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                if let refusal = tunnel.attempt.refusal { return .refused(connection, refusal) }
                return .http(connection)
            }
        }
        var configuration = NIOUpgradableHTTPServerPipelineConfiguration<HTTP1Result>(upgradeConfiguration: upgrades)
        configuration.enablePipelining = false  // NIOAsyncChannel serialises pipelined requests
        configuration.enableErrorHandling = false  // Hummingbird handles errors
        configuration.enableResponseHeaderValidation = false  // HTTPTypes validates
        let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
        // Just above the decoder, before the handlers the upgrade adds: a parse error is answered at once.
        try channel.pipeline.syncOperations.addHandler(ParseErrorResponder { clock?.headBytes })
        return negotiated
    }

    /// Answers a WebSocket upgrade that was not passed through, and closes.
    static func refuse(_ connection: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, _ refusal: WebSocketTunnel.Refusal) async {
        let page: (HTTPResponse.Status, String, String) =
            switch refusal {
            case .unknownHost: (.notFound, "Unknown site", "This DCDN node does not serve that site.")
            case .loop: (.init(code: 508), "Loop detected", "This request already passed through DCDN.")
            case .originUnreachable: (.badGateway, "The origin is unreachable", "DCDN could not open a WebSocket to the site's server.")
            case .originRefused:
                (.forbidden, "The origin's address is not allowed", "The site points at an address DCDN does not connect to.")
            case .origin(let status) where status >= 400:
                (.init(code: status), "WebSocket refused", "The site's server did not accept the WebSocket.")
            case .origin: (.badGateway, "No WebSocket at the origin", "The site's server does not speak WebSocket here.")
            }
        var (headers, body) = EdgePages.content(page.0, title: page.1, message: page.2)
        headers[.connection] = "close"
        headers[.contentLength] = String(body.readableBytes)
        try? await connection.executeThenClose { _, outbound in
            try await outbound.write(contentsOf: [.head(HTTPResponse(status: page.0, headerFields: headers)), .body(body), .end(nil)])
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1_1(let upgrade):
                switch try await upgrade.get() {
                case .http(let connection): await handleHTTP(asyncChannel: connection, logger: logger)
                case .tunnel(let channel): try await channel.closeFuture.get()
                case .refused(let connection, let refusal): await Self.refuse(connection, refusal)
                }
            case .http2(let connection): await http2.handle(value: connection, logger: logger)
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }
}

/// Reads until the first bytes tell whether they are the HTTP/2 connection preface, sets the
/// pipeline up for that protocol behind itself, passes the bytes on and leaves the pipeline.
final class PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias Negotiated = NIONegotiatedHTTPVersion<EventLoopFuture<EdgeChannel.HTTP1Result>, EdgeHTTP2.Value>

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private var buffered: ByteBuffer?
    private var decided = false
    let negotiated: EventLoopPromise<Negotiated>
    /// Adds the chosen protocol's handlers (true: HTTP/2).
    let configure: (Bool) -> EventLoopFuture<Negotiated>

    init(negotiated: EventLoopPromise<Negotiated>, configure: @escaping (Bool) -> EventLoopFuture<Negotiated>) {
        self.negotiated = negotiated
        self.configure = configure
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        guard !decided else { return context.fireChannelRead(data) }
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        let bytes = buffered!.readableBytesView
        let seen = min(bytes.count, Self.preface.count)
        let matches = bytes.prefix(seen).elementsEqual(Self.preface.prefix(seen))
        if matches, seen < Self.preface.count { return }
        decided = true
        configure(matches).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let value):
                self.negotiated.succeed(value)
                if let buffered = self.buffered { context.fireChannelRead(Self.wrapInboundOut(buffered)) }
                self.buffered = nil
                context.fireChannelReadComplete()
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            case .failure(let error):
                self.negotiated.fail(error)
                context.close(promise: nil)
            }
        }
    }

    /// A connection that sends nothing for this long is closed.
    static let firstBytesTimeout = TimeAmount.seconds(30)
    private var timeout: Scheduled<Void>?

    func handlerAdded(context: ChannelHandlerContext) {
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: Self.firstBytesTimeout) {
            if !self.decided { context.close(promise: nil) }
        }
    }

    /// A client that connects and leaves without a byte (probes, scanners): close our side too.
    /// So does a server shutting down: a connection that has said nothing has nothing to finish.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !decided, let event = event as? ChannelEvent, case .inputClosed = event {
            context.close(promise: nil)
            return
        }
        if !decided, event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided { negotiated.fail(ChannelError.eof) }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        if !decided { negotiated.fail(ChannelError.eof) }
    }
}
