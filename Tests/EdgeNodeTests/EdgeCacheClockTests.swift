import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NodeProtocol
import Synchronization
import Testing

@testable import EdgeNode

/// The edge cache against a real origin on loopback, on a clock the test moves: freshness runs
/// out when the test says, not when the machine gets round to it.
@Suite("Edge cache on a clock the test moves")
struct EdgeCacheClockTests {
    /// A wall clock that stands still until advanced.
    final class HandClock: Sendable {
        /// Starts on a whole second, as `Date` fields are.
        private let seconds = Mutex(Date().timeIntervalSince1970.rounded(.down))
        var clock: CacheClock { CacheClock { [self] in now } }
        var now: Double { seconds.withLock { $0 } }
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
    }

    /// Reads a response body to its end, as a visitor's connection would (the cache stores
    /// an answer as its body passes through).
    final class Count: Sendable {
        let bytes = Mutex(0)
    }
    struct Drain: ResponseBodyWriter {
        let count: Count
        mutating func write(_ buffer: ByteBuffer) async throws { count.bytes.withLock { $0 += buffer.readableBytes } }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    @Test("a stored answer is a hit until max-age passes, then revalidated with its ETag and a hit again")
    func freshnessRunsOut() async throws {
        let requests = Mutex<[String]>([])
        let time = HandClock()
        // The origin's clock is the test's too: its Date field says what the test's clock says.
        // (A raw NIO server: Hummingbird stamps Date from the machine's clock.)
        let origin = try await TestOrigin.start { head in
            let conditional = head.headers["If-None-Match"].first
            requests.withLock { $0.append(conditional ?? "-") }
            var headers = HTTPHeaders([
                ("Cache-Control", "max-age=60"), ("ETag", "\"v1\""), ("Content-Type", "text/plain"), ("Date", HTTPDate.format(time.now)),
            ])
            if conditional == "\"v1\"" { return (.notModified, headers, "") }
            headers.add(name: "Content-Length", value: "5")
            return (.ok, headers, "hello")
        }
        let clients = OriginClients()
        do {
            let port = origin.port
            let routes = EdgeRoutes(
                snapshot: EdgeRoutesTests.snapshot(
                    origin: "127.0.0.1:\(port)", sslMode: "off",
                    records: [DNSRecordConfig(name: "@", type: "A", content: "127.0.0.1", ttl: 0, priority: nil, proxied: true)]))
            let route = try #require(routes.route(forHost: "example.com"))
            var origins = OriginFetcher(clients: clients, logger: Logger(label: "test"))
            origins.clock = time.clock
            origins.addresses = OriginAddresses(policy: .init(allowLoopback: true))
            let cache = EdgeCache(
                store: CacheStore(directory: nil, limits: .init(), logger: Logger(label: "test")), flights: FlightTable(),
                origins: origins, state: EdgeState(), compressed: CompressedVariants())
            let settings = CacheSettings(level: .standard, edgeTTL: 3600, edgeTTLOverrides: false, browserTTL: 14_400, bypass: nil)
            func get() async throws -> String {
                let head = HTTPRequest(method: .get, scheme: "http", authority: "example.com", path: "/page")
                let exchange = Exchange(head: head, body: nil, route: route, host: "example.com", target: "/page", client: "198.51.100.7")
                let response = try await cache.respond(exchange, settings: settings)
                #expect(response.status == .ok)
                let drained = Count()
                try await response.body.write(Drain(count: drained))
                #expect(drained.bytes.withLock { $0 } == 5)
                return response.headers[HTTPField.Name("Cache-Status")!] ?? ""
            }

            #expect(try await get().contains("fwd=uri-miss"))
            time.advance(59)
            #expect(try await get().contains("hit; ttl=1"), "fresh for 60 s")
            time.advance(2)
            #expect(try await get().contains("fwd=stale; fwd-status=304; ttl=60"), "past max-age: revalidated")
            #expect(try await get().contains("hit; ttl=60"), "the 304 made it fresh again")
            time.advance(30)
            #expect(try await get().contains("hit; ttl=30"))
            #expect(requests.withLock { $0 } == ["-", "\"v1\""], "one fill, one revalidation with the stored ETag")
        } catch {
            await clients.shutdown()
            try await origin.channel.close()
            throw error
        }
        await clients.shutdown()
        try await origin.channel.close()
    }
}

/// A one-route HTTP/1.1 origin on loopback whose answers the test writes whole.
struct TestOrigin {
    typealias Answer = @Sendable (HTTPRequestHead) -> (HTTPResponseStatus, HTTPHeaders, String)
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start(_ answer: @escaping Answer) async throws -> TestOrigin {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(Handler(answer: answer)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestOrigin(channel: channel)
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let answer: Answer
        var head: HTTPRequestHead?
        init(answer: @escaping Answer) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body: break
            case .end:
                guard let head else { return }
                let (status, headers, body) = answer(head)
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil) }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
