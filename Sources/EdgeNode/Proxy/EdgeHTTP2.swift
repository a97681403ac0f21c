import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP2
import NIOHTTPTypes
import NIOHTTPTypesHTTP2
import Synchronization
import WAFKit

/// The edge's HTTP/2 connections (RFC 9113). NIOHTTP2 gives each stream a child channel; a
/// stream whose request is a fresh memory hit is answered right there on the event loop
/// (`HTTP2StreamRouter`), as `HitFastPath` answers HTTP/1.1, so that a hit costs neither an
/// async channel nor a task. Any other stream becomes an async channel that one task per stream
/// hands to Hummingbird's responder. A quiescing server sends GOAWAY and closes once the streams
/// in progress are done (`HTTP2Quiescer`).
struct EdgeHTTP2: Sendable {
    typealias Stream = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    struct Value: Sendable {
        /// Streams for the responder, in the order they arrived; finished when the connection closes.
        let streams: AsyncStream<Stream>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    /// Answers fresh memory hits on the event loop; nil turns that off.
    let fastPath: (@Sendable (HTTPRequest, ClientIP?) -> HitMemo.Answer?)?

    /// Adds the HTTP/2 handler behind the connection's TLS (if any); returns at once. `secure`:
    /// the connection is TLS, which decides each request's scheme.
    func setup(channel: any Channel, client: ClientIP?, secure: Bool) -> EventLoopFuture<Value> {
        let fastPath = fastPath
        return channel.eventLoop.makeCompletedFuture {
            let (streams, continuation) = AsyncStream.makeStream(of: Stream.self)
            let quiescer = HTTP2Quiescer()
            _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                mode: .server, connectionConfiguration: .init(), streamConfiguration: .init(),
                streamDelegate: HTTP2Quiescer.Delegate(quiescer, eventLoop: channel.eventLoop)
            ) { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTPServerCodec())
                    try stream.pipeline.syncOperations.addHandler(
                        HTTP2StreamRouter(client: client, secure: secure, fastPath: fastPath) { continuation.yield($0) })
                }
            }
            try channel.pipeline.syncOperations.addHandler(quiescer)
            channel.closeFuture.whenComplete { _ in continuation.finish() }
            return Value(streams: streams, channel: channel)
        }
    }

    /// Serves the connection's streams that need the responder, each in its own task.
    func handle(value: Value, logger: Logger) async {
        await withDiscardingTaskGroup { group in
            for await stream in value.streams {
                group.addTask { await serve(stream, logger: logger) }
            }
        }
    }

    /// One request and its response, as Hummingbird's own HTTP/2 stream channel does.
    private func serve(_ stream: Stream, logger: Logger) async {
        // Reset by the client while it waited for a task: nothing to answer.
        guard stream.channel.isActive else { return }
        do {
            try await withTaskCancellationHandler {
                try await stream.executeThenClose { inbound, outbound in
                    var iterator = inbound.makeAsyncIterator()
                    // The codec's first part of a stream is always its head.
                    guard case .head(let head) = try await iterator.next() else { return }
                    let body = StreamBody(iterator)
                    let request = Request(head: head, body: RequestBody(asyncSequence: body))
                    try await responder(request, ResponseWriter(outbound: outbound), stream.channel)
                    // The stream ends once the request's end has been read, unless the body went
                    // to someone else (an upload to the origin), whose reading ends with the stream.
                    try await body.drainIfUnread()
                }
            } onCancel: {
                stream.channel.close(mode: .input, promise: nil)
            }
        } catch {
            logger.trace("HTTP/2 stream ended", metadata: ["error": "\(error)"])
        }
    }
}

/// A stream's request body for Hummingbird: its data parts until the end, read by exactly one
/// reader — the first to ask (the responder or a task it handed the body to), or else
/// `drainIfUnread` — since the async channel's iterator allows a single consumer.
final class StreamBody: AsyncSequence, @unchecked Sendable {  // the claim below makes one reader
    typealias Element = ByteBuffer
    private var iterator: NIOAsyncChannelInboundStream<HTTPRequestPart>.AsyncIterator
    private var finished = false
    private let claimed = Atomic(false)

    init(_ iterator: NIOAsyncChannelInboundStream<HTTPRequestPart>.AsyncIterator) { self.iterator = iterator }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: StreamBody
        /// This iterator won the claim; another one reads nothing.
        let reads: Bool
        func next() async throws -> ByteBuffer? {
            guard reads else { return nil }
            return try await body.nextChunk()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self, reads: claim()) }

    private func claim() -> Bool { claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }

    private func nextChunk() async throws -> ByteBuffer? {
        while !finished {
            switch try await iterator.next() {
            case .body(let chunk): return chunk
            case .end, .head, nil: finished = true
            }
        }
        return nil
    }

    /// Reads the request to its end when nobody else has taken the body.
    func drainIfUnread() async throws {
        guard claim() else { return }
        while try await nextChunk() != nil {}
    }
}

/// The first handler of an HTTP/2 stream after the HTTP types codec: answers a fresh memory hit
/// itself, or turns the stream into an async channel for the responder and leaves the pipeline.
final class HTTP2StreamRouter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    let client: ClientIP?
    /// The connection is TLS: every request's scheme is https, whatever `:scheme` claims.
    let secure: Bool
    let fastPath: ((HTTPRequest, ClientIP?) -> HitMemo.Answer?)?
    let handOff: (EdgeHTTP2.Stream) -> Void
    /// The rest of a request answered here (its body, if any) is dropped.
    private var answered = false
    private var needsFlush = false

    init(
        client: ClientIP?, secure: Bool, fastPath: ((HTTPRequest, ClientIP?) -> HitMemo.Answer?)?,
        handOff: @escaping (EdgeHTTP2.Stream) -> Void
    ) {
        self.client = client
        self.secure = secure
        self.fastPath = fastPath
        self.handOff = handOff
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var part = Self.unwrapInboundIn(data)
        if case .head(var request) = part {
            // As HTTP/1.1 does: the connection, not the client, says whether it is https
            // (forwarded to the origin, and Always Use HTTPS).
            request.scheme = secure ? "https" : "http"
            part = .head(request)
        }
        if case .head(let request) = part, request.method == .get || request.method == .head,
            let answer = fastPath?(request, client)
        {
            answered = true
            context.write(Self.wrapOutboundOut(.head(answer.response)), promise: nil)
            if request.method == .get, let body = answer.body, body.readableBytes > 0 {
                context.write(Self.wrapOutboundOut(.body(body)), promise: nil)
            }
            context.write(Self.wrapOutboundOut(.end(nil)), promise: nil)
            needsFlush = true
            return
        }
        do {
            // The responder's side: an async channel at the end of the pipeline gets this part
            // and everything after it.
            let stream = try EdgeHTTP2.Stream(wrappingChannelSynchronously: context.channel)
            handOff(stream)
            context.fireChannelRead(Self.wrapInboundOut(part))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }
}

/// Graceful shutdown of an HTTP/2 connection (RFC 9113 §6.8): when the server quiesces, a GOAWAY
/// naming the last stream begun, then close once no stream is open. A client that closes its side
/// gets the connection closed.
final class HTTP2Quiescer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var open = 0
    private var lastStream = HTTP2StreamID(0)
    private var quiescing = false
    private weak var context: ChannelHandlerContext?

    /// Streams opening and closing, reported by NIOHTTP2 on the connection's event loop.
    struct Delegate: NIOHTTP2StreamDelegate {
        let quiescer: NIOLoopBound<HTTP2Quiescer>

        init(_ quiescer: HTTP2Quiescer, eventLoop: any EventLoop) { self.quiescer = NIOLoopBound(quiescer, eventLoop: eventLoop) }

        func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
            quiescer.value.open += 1
            quiescer.value.lastStream = max(quiescer.value.lastStream, id)
        }

        func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
            quiescer.value.open -= 1
            quiescer.value.closeIfDone()
        }
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent where !quiescing:
            quiescing = true
            let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: lastStream, errorCode: .noError, opaqueData: nil))
            context.writeAndFlush(Self.wrapOutboundOut(goAway), promise: nil)
            closeIfDone()
        case let event as ChannelEvent where event == .inputClosed:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // Errors pass on: NIOHTTP2 resets a faulty stream itself and closes the connection on a
    // connection error; closing here would end every other stream with it.

    private func closeIfDone() {
        if quiescing, open == 0 { context?.close(promise: nil) }
    }
}
