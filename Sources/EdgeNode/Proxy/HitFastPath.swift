import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import WAFKit

/// Answers fresh cache hits held in memory straight from the connection's event loop, before
/// Hummingbird starts a task for the request; everything else passes on untouched. Only while no
/// earlier request of the connection is still being answered, so pipelined responses keep their
/// order.
///
/// It sits below the HTTP-types codec, so a request it answers is converted once and its response
/// is written as bytes underneath NIO's response encoder (which then has nothing in progress).
final class HitFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let answer: (HTTPRequest, ClientIP?) -> HitMemo.Answer?
    /// Requests passed on whose response has not ended yet.
    private var outstanding = 0
    /// The rest of a request answered here (its body, if any) is dropped.
    private var swallowing = false
    private var needsFlush = false
    /// Where encoded bytes enter the pipeline: just below NIO's response encoder.
    private var wire: ChannelHandlerContext?
    /// Told of each request answered here, which its response count does not see.
    private var parseErrors: ParseErrorResponder?

    /// The connection is TLS (requests are https).
    let secure: Bool
    /// The visitor's address, worked out once per connection.
    let client: ClientIP?

    init(secure: Bool, client: ClientIP?, answer: @escaping (HTTPRequest, ClientIP?) -> HitMemo.Answer?) {
        self.secure = secure
        self.client = client
        self.answer = answer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        wire = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        parseErrors = try? context.pipeline.syncOperations.handler(type: ParseErrorResponder.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        wire = nil
        parseErrors = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            if outstanding == 0, let wire, head.isKeepAlive, head.version.major == 1, head.version.minor == 1,
                head.method == .GET || head.method == .HEAD, !head.headers.contains(name: "upgrade"),
                let request = try? HTTPRequest(head, secure: secure, splitCookie: false),
                let answer = answer(request, client)
            {
                swallowing = true
                wire.write(NIOAny(IOData.byteBuffer(answer.head)), promise: nil)
                if let body = answer.body, body.readableBytes > 0 { wire.write(NIOAny(IOData.byteBuffer(body)), promise: nil) }
                needsFlush = true
                parseErrors?.answeredBelow()
                return
            }
            outstanding += 1
            context.fireChannelRead(data)
        case .body, .end:
            guard swallowing else { return context.fireChannelRead(data) }
            if case .end = Self.unwrapInboundIn(data) { swallowing = false }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = Self.unwrapOutboundIn(data) { outstanding -= 1 }
        context.write(data, promise: promise)
    }
}
