import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import EdgeNode

/// Parse errors answered at once with RFC 9110's status, through NIO's own decoder and encoder.
@Suite("Parse errors")
struct ParseErrorResponderTests {
    /// Sends `bytes` through decoder → responder (an app that answers 200 to each whole request)
    /// and returns what went out and whether the channel closed.
    static func exchange(_ bytes: String, head: [UInt8]? = nil) throws -> (String, closed: Bool) {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()  // active until closed
        let recorded = head ?? Array(bytes.utf8.prefix(8192))
        try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.pipeline.syncOperations.addHandler(ParseErrorResponder { recorded })
        try channel.pipeline.syncOperations.addHandler(Answerer())
        _ = try? channel.writeInbound(ByteBuffer(string: bytes))
        var output = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { output += String(buffer: buffer) }
        }
        return (output, !channel.isActive)
    }

    /// Answers each request's end with an empty 200.
    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    static func statuses(_ output: String) -> [Int] {
        output.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }

    @Test(
        "each malformation gets its status at once and the connection closes",
        arguments: [
            ("CUST / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
            ("get / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
            ("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}", 400),
            ("HELLO\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ])
    func statuses(request: String, expected: Int) throws {
        let (output, closed) = try Self.exchange(request)
        #expect(Self.statuses(output) == [expected], "\(output)")
        #expect(output.contains("Connection: close") && closed)
    }

    @Test("a malformed request pipelined behind a good one is answered after it, in order")
    func pipelined() throws {
        let (output, closed) = try Self.exchange("GET /a HTTP/1.1\r\nHost: a\r\n\r\nCUST / HTTP/1.1\r\n\r\n", head: [])
        #expect(Self.statuses(output) == [200, 501], "\(output)")
        #expect(closed)
    }

    @Test("a body that turns out malformed after its head is answered 400 and the connection closed")
    func badBody() throws {
        let (output, closed) = try Self.exchange("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        #expect(Self.statuses(output) == [400], "\(output)")
        #expect(closed)
    }

    @Test("well-formed requests pass untouched")
    func wellFormed() throws {
        let (output, closed) = try Self.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.0\r\n\r\n")
        #expect(Self.statuses(output) == [200, 200])
        #expect(!closed)
    }

    @Test("tokens and versions are read as RFC 9110 and RFC 9112 define them")
    func classification() {
        #expect(ParseErrorResponder.startsWithToken(Array("M-SEARCH * HTTP/1.1".utf8)))
        #expect(!ParseErrorResponder.startsWithToken(Array("GE(T / HTTP/1.1".utf8)))
        #expect(!ParseErrorResponder.startsWithToken(Array(" GET /".utf8)))
        #expect(ParseErrorResponder.hasOtherVersion(Array("GET / HTTP/3.0\r\n".utf8)))
        #expect(!ParseErrorResponder.hasOtherVersion(Array("GET / HTTP/1.9\r\n".utf8)))
        #expect(!ParseErrorResponder.hasOtherVersion(Array("GET / HTTP/10.0\r\n".utf8)))
        #expect(ParseErrorResponder.status(for: .closedConnection, head: nil) == nil)
        #expect(ParseErrorResponder.status(for: .headerOverflow, head: nil) == .requestHeaderFieldsTooLarge)
    }
}
