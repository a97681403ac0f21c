import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers fresh cache hits held in memory straight from the connection's event loop, before
/// Hummingbird starts a task for the request; everything else passes on untouched. Only while no
/// earlier request of the connection is still being answered, so pipelined responses keep their
/// order.
final class HitFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let answer: (HTTPRequest) -> EdgeCache.Prepared?
    /// Requests passed on whose response has not ended yet.
    private var outstanding = 0
    /// The rest of a request answered here (its body, if any) is dropped.
    private var swallowing = false
    private var needsFlush = false

    init(answer: @escaping (HTTPRequest) -> EdgeCache.Prepared?) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            if outstanding == 0, case .buffered(let status, let fields, let body)? = answer(head) {
                swallowing = true
                context.write(Self.wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
                if let body { context.write(Self.wrapOutboundOut(.body(body)), promise: nil) }
                context.write(Self.wrapOutboundOut(.end(nil)), promise: nil)
                needsFlush = true
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
