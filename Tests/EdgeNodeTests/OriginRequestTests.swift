import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NodeProtocol
import Synchronization
import Testing

@testable import EdgeNode

/// What the origin sees of a visitor's request, and what the cache keeps of the origin's
/// answers, against a real origin on loopback.
@Suite("Requests to the origin and what the cache keeps of the answers")
struct OriginRequestTests {
    /// A cache in front of `origin` on 127.0.0.1, for the one route of example.com.
    struct Edge {
        let cache: EdgeCache
        let route: EdgeRoutes.Route
        let clients: OriginClients
        let settings = CacheSettings(level: .standard, edgeTTL: 3600, edgeTTLOverrides: false, browserTTL: 14_400, bypass: nil)

        init(
            port: Int, host: String = "127.0.0.1", clock: CacheClock = .system, policy: OriginAddressPolicy = .init(allowLoopback: true),
            resolve: (@Sendable (String) async -> [IPAddress])? = nil
        ) throws {
            let routes = EdgeRoutes(
                snapshot: EdgeRoutesTests.snapshot(
                    origin: "\(host):\(port)", sslMode: "off",
                    records: [DNSRecordConfig(name: "@", type: "CNAME", content: "example.com", ttl: 0, priority: nil, proxied: true)]))
            route = try #require(routes.route(forHost: "example.com"))
            clients = OriginClients()
            var origins = OriginFetcher(clients: clients, logger: Logger(label: "test"))
            origins.clock = clock
            origins.addresses = resolve.map { OriginAddresses(policy: policy, resolve: $0) } ?? OriginAddresses(policy: policy)
            cache = EdgeCache(
                store: CacheStore(directory: nil, limits: .init(), logger: Logger(label: "test")), flights: FlightTable(),
                origins: origins, state: EdgeState(), compressed: CompressedVariants())
        }

        /// A GET as the route phase leaves it: `host` normalised, the visitor's `fields` as sent.
        func get(_ target: String = "/page", authority: String = "example.com", fields: HTTPFields = [:]) async throws -> Response {
            var head = HTTPRequest(method: .get, scheme: "http", authority: authority, path: target)
            head.headerFields = fields
            let exchange = Exchange(
                head: head, body: nil, route: route, host: EdgeRoutes.hostName(authority), target: target, client: "198.51.100.7")
            let response = try await cache.respond(exchange, settings: settings)
            try await response.body.write(EdgeCacheClockTests.Drain(count: EdgeCacheClockTests.Count()))
            return response
        }
    }

    @Test("visitors' forwarding fields never reach the origin: the edge's own replace them, and Host is what the cache keyed on")
    func forwardingFields() async throws {
        let seen = Mutex<[HTTPHeaders]>([])
        let origin = try await TestOrigin.start { head in
            seen.withLock { $0.append(head.headers) }
            return (.ok, ["Content-Length": "2", "Cache-Control": "no-store"], "ok")
        }
        let edge = try Edge(port: origin.port)
        var spoofed = HTTPFields()
        for (name, value) in [
            ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.66"),
            ("X-Forwarded-Port", "8443"), ("X-Forwarded-Prefix", "/evil"), ("X-Forwarded-Server", "evil.example"),
            ("X-Forwarded-Scheme", "https"), ("X-Forwarded-Ssl", "on"), ("Forwarded", "for=203.0.113.66;host=evil.example;proto=https"),
            ("X-Real-IP", "203.0.113.66"), ("True-Client-IP", "203.0.113.66"), ("X-Client-IP", "203.0.113.66"),
            ("CF-Connecting-IP", "203.0.113.66"), ("X-Host", "evil.example"), ("X-Original-URL", "/admin"), ("X-Rewrite-URL", "/admin"),
            ("X-HTTP-Method-Override", "DELETE"), ("X-Original-Host", "evil.example"), ("Front-End-Https", "on"),
            ("Via", "1.1 visitor-proxy"), ("Accept-Language", "fr"), ("X_Forwarded_Host", "evil.example"), ("X_Real_IP", "203.0.113.66"),
            ("Content-Length", "5"),
        ] {
            spoofed.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        do {
            _ = try await edge.get("/page", authority: "Example.COM.:8080", fields: spoofed)
            let headers = try #require(seen.withLock { $0.first })
            #expect(headers["Host"] == ["example.com"], "exactly the name the cache keyed on")
            #expect(headers["X-Forwarded-Host"] == ["example.com"])
            #expect(headers["X-Forwarded-Proto"] == ["http"])
            #expect(headers["X-Forwarded-For"] == ["198.51.100.7"], "the address the visitor connected from, not a chain it wrote")
            #expect(headers["X-Real-IP"] == ["198.51.100.7"])
            #expect(headers["Forwarded"] == ["for=198.51.100.7;host=example.com;proto=http"])
            #expect(headers["Via"] == ["1.1 visitor-proxy, 1.1 dcdn"])
            #expect(headers["Accept-Language"] == ["fr"], "ordinary fields pass")
            for dropped in [
                "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Scheme", "X-Forwarded-Ssl", "True-Client-IP",
                "X-Client-IP", "CF-Connecting-IP", "X-Host", "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-Original-Host",
                "Front-End-Https", "X_Forwarded_Host", "X_Real_IP", "Content-Length",
            ] {
                #expect(headers[dropped].isEmpty, "\(dropped) reached the origin")
            }
            // An IPv6 visitor in Forwarded is quoted and bracketed (RFC 7239 §6).
            #expect(
                OriginFetcher.forwardingFields(host: "example.com", scheme: "https", client: "2001:db8::7", via: nil).first {
                    $0.0 == "Forwarded"
                }?.1 == "for=\"[2001:db8::7]\";host=example.com;proto=https")
        } catch {
            await edge.clients.shutdown()
            try await origin.channel.close()
            throw error
        }
        await edge.clients.shutdown()
        try await origin.channel.close()
    }

    @Test("a Set-Cookie or private on a 304 is never merged into the shared copy nor replayed to the next visitor")
    func revalidationCookies() async throws {
        let time = EdgeCacheClockTests.HandClock()
        let answers = Mutex<[String]>([])
        let origin = try await TestOrigin.start { head in
            let conditional = head.headers["If-None-Match"].first
            answers.withLock { $0.append(head.uri + " " + (conditional ?? "-")) }
            var headers = HTTPHeaders([("Cache-Control", "max-age=1"), ("ETag", "\"v1\""), ("Date", HTTPDate.format(time.now))])
            if conditional == "\"v1\"" {
                switch head.uri {
                case "/cookie": headers.add(name: "Set-Cookie", value: "session=secret")
                case "/private": headers.replaceOrAdd(name: "Cache-Control", value: "private, max-age=60")
                default: headers.replaceOrAdd(name: "Cache-Control", value: "max-age=60")
                }
                return (.notModified, headers, "")
            }
            headers.add(name: "Content-Type", value: "text/plain")
            headers.add(name: "Content-Length", value: "4")
            return (.ok, headers, "body")
        }
        let edge = try Edge(port: origin.port, clock: time.clock)
        do {
            for path in ["/cookie", "/private", "/plain"] {
                #expect(try await edge.get(path).headers[.cacheStatus]?.contains("stored") == true)
            }
            time.advance(2)
            let first = try await edge.get("/cookie")
            #expect(first.headers[.setCookie] == "session=secret", "the visitor who revalidated gets their own cookie")
            #expect(first.headers[.cacheStatus]?.contains("detail=not-stored") == true)
            let next = try await edge.get("/cookie")
            #expect(next.headers[.setCookie] == nil, "and nobody after them")
            #expect(next.headers[.cacheStatus]?.contains("hit") == false)

            _ = try await edge.get("/private")
            let afterPrivate = try await edge.get("/private")
            #expect(afterPrivate.headers[.cacheStatus]?.contains("hit") == false, "private on the 304: the shared copy is gone")

            #expect(try await edge.get("/plain").headers[.cacheStatus]?.contains("fwd-status=304") == true)
            #expect(try await edge.get("/plain").headers[.cacheStatus]?.hasPrefix("DCDN; hit") == true, "an ordinary 304 refreshes")
            #expect(answers.withLock { $0.filter { $0.hasPrefix("/cookie") } } == ["/cookie -", "/cookie \"v1\"", "/cookie -"])
        } catch {
            await edge.clients.shutdown()
            try await origin.channel.close()
            throw error
        }
        await edge.clients.shutdown()
        try await origin.channel.close()
    }

    @Test("an origin on a refused address, or a name that resolves to one, is never connected to")
    func refusedOrigins() async throws {
        let requests = Mutex(0)
        let origin = try await TestOrigin.start { _ in
            requests.withLock { $0 += 1 }
            return (.ok, ["Content-Length": "2"], "ok")
        }
        do {
            // "origin.test" resolves (here) to loopback only; real DNS knows no such name, so a
            // success below proves the connection went to the checked address.
            let resolve: @Sendable (String) async -> [IPAddress] = { $0 == "origin.test" ? [IPAddress("127.0.0.1")!] : [] }
            for host in ["127.0.0.1", "origin.test", "[::ffff:127.0.0.1]"] {
                let edge = try Edge(port: origin.port, host: host, policy: OriginAddressPolicy(), resolve: resolve)
                let response = try await edge.get()
                #expect(response.status == .forbidden, "\(host)")
                await edge.clients.shutdown()
            }
            #expect(requests.withLock { $0 } == 0)
            let allowed = try Edge(
                port: origin.port, host: "origin.test", policy: OriginAddressPolicy(allowed: [CIDR("127.0.0.0/8")!]), resolve: resolve)
            #expect(try await allowed.get().status == .ok, "an operator's allowed range is connected to, pinned by name")
            await allowed.clients.shutdown()
            #expect(requests.withLock { $0 } == 1)
        } catch {
            try await origin.channel.close()
            throw error
        }
        try await origin.channel.close()

        // A name whose every address is checked, not only the first.
        let mixed = OriginAddresses(policy: OriginAddressPolicy()) { _ in [IPAddress("93.184.216.34")!, IPAddress("10.0.0.1")!] }
        #expect(await mixed.decide("rebind.example") == .refused("rebind.example resolves to 10.0.0.1, which is not a public address"))
        let unresolved = OriginAddresses(policy: OriginAddressPolicy()) { _ in [] }
        #expect(await unresolved.decide("nowhere.example") == .unresolved)
        let public_ = OriginAddresses(policy: OriginAddressPolicy()) { _ in [IPAddress("93.184.216.34")!] }
        #expect(await public_.decide("example.org") == .connect(IPAddress("93.184.216.34")!))
        #expect(await public_.decide("0.0.0.0") == .refused("0.0.0.0 is not a public address"))
        // The system resolver behind the default: /etc/hosts' localhost is loopback.
        #expect(await HostResolver.addresses(of: "localhost").contains(IPAddress("127.0.0.1")!))
    }
}
