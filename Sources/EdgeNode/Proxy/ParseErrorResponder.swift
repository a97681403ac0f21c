import NIOCore
import NIOHTTP1

/// Answers an HTTP/1.x request the decoder could not parse at once, with the status RFC 9112 and
/// RFC 9110 give, and closes the connection: without it the connection would wait for the
/// Slowloris guard's 408. Sits just above the decoder (whose errors pass through it first) and
/// writes through the response encoder below it.
///
/// - 501 Not Implemented: a method token the parser does not know (RFC 9110 §9.1);
/// - 505 HTTP Version Not Supported: a well-formed version other than 1.x (RFC 9110 §15.6.6);
/// - 414 URI Too Long: a request line above `maxHeaderBytes` (RFC 9110 §15.5.15);
/// - 431 Request Header Fields Too Large: a head above the decoder's own limit (RFC 6585 §5);
/// - 400 Bad Request for every other malformation (RFC 9112 §2.2, §3, §5, §6.3): a request line
///   that is not HTTP (a TLS ClientHello on the plain port), a field line without a colon or with
///   whitespace before it, an unparsable or repeated `Content-Length`, a bad chunk size.
///
/// A connection that closes in the middle of a request gets no answer. A malformed request sent
/// behind others before they were answered (pipelined) is answered after them, in order. A body
/// that turns out malformed (a bad chunk size) after its head went up is answered 400 at once if
/// no response has started, else the connection is closed: the rest of the request is lost.
final class ParseErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The failing request's first bytes, for telling a method token from binary (`RequestClock`'s
    /// copy of the unfinished head); nil when the listener keeps none, empty when the request
    /// began in the same read as an earlier one.
    let partialHead: () -> [UInt8]?
    /// Requests read whose response has not ended.
    private var pending = 0
    /// A request's head went up and its end has not come yet.
    private var readingBody = false
    /// A response's head was written and its end not yet.
    private var responseStarted = false
    private var failed = false
    /// The answer to a malformed request, waiting for the responses before it.
    private var deferred: HTTPResponseStatus?
    private var context: ChannelHandlerContext?

    init(partialHead: @escaping () -> [UInt8]?) {
        self.partialHead = partialHead
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        switch Self.unwrapInboundIn(data) {
        case .head:
            pending += 1
            readingBody = true
        case .end: readingBody = false
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .head(let head):
            if head.status.code >= 200 { responseStarted = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responseStarted = false
            context.write(data, promise: promise)
            ended(context: context)
        }
    }

    /// A request's response ended without passing here (`HitFastPath` answered it below).
    func answeredBelow() {
        guard let context else { return }
        ended(context: context)
    }

    private func ended(context: ChannelHandlerContext) {
        pending = max(0, pending - 1)
        if pending == 0, let status = deferred {
            deferred = nil
            answer(status, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        guard !failed else { return }
        failed = true
        guard let status = Self.status(for: parseError, head: partialHead()) else {
            context.close(promise: nil)
            return
        }
        if readingBody {
            // The failing part belongs to the request in progress.
            if pending == 1 && !responseStarted { answer(status, context: context) } else { context.close(promise: nil) }
        } else if pending > 0 {
            deferred = status
        } else {
            answer(status, context: context)
        }
    }

    private func answer(_ status: HTTPResponseStatus, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Cache-Control", value: "no-store")
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// The status for `error`, or nil when the client left and nothing should be answered.
    /// `head`: the request's first bytes, when known.
    static func status(for error: HTTPParserError, head: [UInt8]?) -> HTTPResponseStatus? {
        switch error {
        case .closedConnection, .invalidEOFState: return nil
        case .headerOverflow: return .requestHeaderFieldsTooLarge
        case .invalidMethod:
            // Without the bytes (a request pipelined behind another in one read), a method the
            // parser does not know is the likelier cause than binary after a good request.
            guard let head, !head.isEmpty else { return .notImplemented }
            return startsWithToken(head) ? .notImplemented : .badRequest
        case .invalidVersion: return head.map(hasOtherVersion) == true ? .httpVersionNotSupported : .badRequest
        default: return .badRequest
        }
    }

    /// Whether the request line begins with a method token (RFC 9110 §5.6.2 tchar) and a space:
    /// a method the parser does not know, rather than bytes that are not HTTP at all.
    static func startsWithToken(_ head: [UInt8]) -> Bool {
        guard let space = head.firstIndex(of: UInt8(ascii: " ")), space > 0 else { return false }
        return head[..<space].allSatisfy(isTokenCharacter)
    }

    /// Whether the request line ends in a well-formed `HTTP/x.y` whose major version is not 1
    /// (RFC 9112 §2.3): HTTP/2.0 or HTTP/3.0 sent as text, which the server does not speak.
    static func hasOtherVersion(_ head: [UInt8]) -> Bool {
        let line = head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        guard let space = line.lastIndex(of: UInt8(ascii: " ")) else { return false }
        let version = Array(line[(space + 1)...])
        guard version.count == 8, version.starts(with: Array("HTTP/".utf8)), version[6] == UInt8(ascii: ".") else { return false }
        let digits = (version[5], version[7])
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digits.0), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digits.1)
        else { return false }
        return digits.0 != UInt8(ascii: "1")
    }

    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
