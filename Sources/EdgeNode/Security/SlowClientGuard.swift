import DCDNCore
import Foundation
import NIOCore
import NIOHTTP1
import WAFKit

/// Connection-level defences of an edge listener: the per-address connection cap (in
/// `EdgeChannel.setup`) and, on HTTP/1.1, the Slowloris guard: a request head must arrive whole
/// within `headerTimeout` of its first byte and within `maxHeaderBytes` and `maxHeaderCount`;
/// a body must average `minBodyRate` bytes per second after its first five seconds.
struct ConnectionDefences: Sendable {
    let settings: EdgeProtectionSettings
    let security: EdgeSecurity
    /// The customer domain a Host names, for the attack record.
    let domainOf: @Sendable (String) -> String?

    /// A connection cut off for being slow or oversized.
    func cutOff(_ client: ClientIP?, host: String?) {
        guard let client else { return }
        security.detector.slowClient(client, domain: host.flatMap(domainOf), now: Date().timeIntervalSince1970)
    }
}

/// Where a connection's current request is, shared by the two watches (event-loop bound).
final class RequestClock {
    enum Phase {
        /// Between requests (or the server is answering one): nothing is owed by the client.
        case idle
        case head(start: NIODeadline, bytes: Int)
        case body(start: NIODeadline, bytes: Int)
    }

    var phase = Phase.idle
    /// The bytes of a head that did not arrive in one read (for the Host of a cut-off client).
    var partialHead: [UInt8] = []
    /// The read the decoder is parsing while a head is owed (a reference, not a copy: the hit path
    /// pays nothing for it), for `ParseErrorResponder`, which the decoder calls during it.
    var currentRead: ByteBuffer?

    /// The unfinished head's bytes so far, the current read's included (at most 8 KiB of it).
    var headBytes: [UInt8] {
        guard let currentRead else { return partialHead }
        return partialHead + currentRead.readableBytesView.prefix(8192)
    }
}

/// Watches raw bytes, below the HTTP decoder: starts the head's clock, counts head and body
/// bytes, checks every second and answers 408 or 431 itself before closing.
final class SlowClientGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let bodyGrace = TimeAmount.seconds(5)
    let clock: RequestClock
    let defences: ConnectionDefences
    let client: ClientIP?
    private var timer: RepeatedTask?
    private var closing = false

    init(clock: RequestClock, defences: ConnectionDefences, client: ClientIP?) {
        self.clock = clock
        self.defences = defences
        self.client = client
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            bound.value.0.check(context: bound.value.1)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        let count = buffer.readableBytes
        var startedHead = false
        switch clock.phase {
        case .idle:
            clock.phase = .head(start: .now(), bytes: count)
            startedHead = true
        case .head(let start, let bytes):
            clock.phase = .head(start: start, bytes: bytes + count)
        case .body(let start, let bytes):
            clock.phase = .body(start: start, bytes: bytes + count)
        }
        if startedHead { clock.partialHead = [] }
        if case .head = clock.phase { clock.currentRead = buffer }
        context.fireChannelRead(data)
        clock.currentRead = nil
        // Still in the head after the decoder saw these bytes: keep them (bounded) for the Host.
        if case .head(_, let bytes) = clock.phase {
            if clock.partialHead.count < 8192 { clock.partialHead += buffer.readableBytesView.prefix(8192 - clock.partialHead.count) }
            if !clock.partialHead.contains(UInt8(ascii: "\n")), bytes > RequestPhaseWatch.maxURIBytes {
                reject(context: context, status: "414 URI Too Long", slow: false)
            } else if bytes > defences.settings.maxHeaderBytes {
                reject(context: context, status: "431 Request Header Fields Too Large", slow: false)
            }
        }
    }

    private func check(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        switch clock.phase {
        case .idle: return
        case .head(let start, _):
            if now - start > .seconds(Int64(defences.settings.headerTimeout)) {
                reject(context: context, status: "408 Request Timeout", slow: true)
            }
        case .body(let start, let bytes):
            let elapsed = now - start
            guard defences.settings.minBodyRate > 0, elapsed > Self.bodyGrace else { return }
            let seconds = Double(elapsed.nanoseconds) / 1e9
            if Double(bytes) / seconds < Double(defences.settings.minBodyRate) {
                reject(context: context, status: "408 Request Timeout", slow: true)
            }
        }
    }

    /// Answers with a bare status and closes; `slow`: the client was too slow (a Slowloris sign).
    func reject(context: ChannelHandlerContext, status: String, slow: Bool) {
        guard !closing else { return }
        closing = true
        if slow { defences.cutOff(client, host: Self.host(in: clock.partialHead)) }
        let response = "HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
        context.writeAndFlush(NIOAny(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// The Host field's name in a partial request head.
    static func host(in head: [UInt8]) -> String? {
        let text = String(decoding: head, as: UTF8.self)
        for line in text.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "host" else { continue }
            return EdgeRoutes.hostName(parts[1].trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

/// Watches decoded request parts, above the decoder: a whole head ends the head's clock (and
/// is checked for its number of fields), the end of a request stops the body's.
final class RequestPhaseWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    let clock: RequestClock
    let guardHandler: SlowClientGuard
    let settings: EdgeProtectionSettings
    /// The longest request target answered (16 KiB, Cloudflare's limit); longer is 414 URI Too Long.
    static let maxURIBytes = 16_384
    /// A head was refused: nothing more of the connection goes up.
    private var refused = false

    init(guardHandler: SlowClientGuard) {
        clock = guardHandler.clock
        self.guardHandler = guardHandler
        settings = guardHandler.defences.settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            // The bytes so far belong to this head: a later parse error is another request's.
            clock.partialHead = []
            clock.currentRead = nil
            // A head that arrived in one read was never measured below: measure it here.
            let size = head.headers.reduce(head.uri.utf8.count) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
            let refusal: String? =
                if head.uri.utf8.count > Self.maxURIBytes {
                    "414 URI Too Long"
                } else if head.headers.count > settings.maxHeaderCount || size > settings.maxHeaderBytes {
                    "431 Request Header Fields Too Large"
                } else if head.version.major != 1 {
                    // HTTP/2.0 or 3.0 written as text: a version this parser does not speak (RFC 9110 §15.6.6).
                    "505 HTTP Version Not Supported"
                } else { nil }
            if let refusal {
                refused = true
                if let raw = try? context.pipeline.syncOperations.context(handler: guardHandler) {
                    guardHandler.reject(context: raw, status: refusal, slow: false)
                }
                return
            }
            clock.phase = .body(start: .now(), bytes: 0)
        case .end:
            clock.phase = .idle
        case .body:
            break
        }
        context.fireChannelRead(data)
    }
}
