import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import NodeProtocol
import Testing

@testable import EdgeNode

@Suite("Edge cache rules")
struct CacheTests {
    static let standard = CacheSettings(level: .standard, edgeTTL: 3600, edgeTTLOverrides: false, browserTTL: 14_400, bypass: nil)

    func storable(_ headers: HTTPFields, status: Int = 200, path: String = "/page", settings: CacheSettings = standard, auth: Bool = false)
        -> CachedResponse?
    {
        let now = Date().timeIntervalSince1970
        return CachePolicy.storable(
            status: status, headers: headers, requestHasAuthorization: auth, path: path, settings: settings, now: now, requestTime: now)
    }

    @Test("Cache-Control directives, with arguments, quoting and several lines")
    func cacheControl() {
        let control = CacheControl([
            "public, max-age=60, s-maxage=\"120\"", "stale-while-revalidate=30,stale-if-error=600, MUST-REVALIDATE",
        ])
        #expect(control.isPublic && control.maxAge == 60 && control.sharedMaxAge == 120 && control.sharedFreshness == 120)
        #expect(control.staleWhileRevalidate == 30 && control.staleIfError == 600 && control.mustRevalidate)
        #expect(CacheControl(["max-stale"]).maxStale == Int.max)
        #expect(CacheControl(["max-age=-5"]).maxAge == 0)
        #expect(CacheControl(["no-cache=\"Set-Cookie\", private"]).noCache)
    }

    @Test("what may be stored, and for how long")
    func storability() throws {
        #expect(storable([.cacheControl: "no-store, max-age=60"]) == nil)
        #expect(storable([.cacheControl: "private, max-age=60"]) == nil)
        #expect(storable([.cacheControl: "max-age=60", .setCookie: "a=b"]) == nil)
        #expect(storable([.cacheControl: "max-age=60", .vary: "*"]) == nil)
        #expect(storable([.cacheControl: "max-age=60"], auth: true) == nil)
        #expect(storable([.cacheControl: "public, max-age=60"], auth: true)?.freshness == 60)
        #expect(storable([.cacheControl: "max-age=60", .cdnCacheControl: "max-age=5"])?.freshness == 5, "RFC 9213 wins")
        #expect(storable([.cacheControl: "no-store", .cdnCacheControl: "max-age=5"])?.freshness == 5)
        #expect(storable([.cacheControl: "max-age=60, s-maxage=10"])?.freshness == 10)
        #expect(storable([.cacheControl: "s-maxage=10"])?.mustRevalidate == true, "s-maxage implies proxy-revalidate")
        #expect(storable([.expires: "not a date"])?.freshness == 0, "an invalid Expires is already expired")
        #expect(storable([:], path: "/page") == nil, "no validators, no freshness, not static")
        #expect(storable([:], path: "/app.js?v=3")?.freshness == 3600, "static files get the edge TTL")
        #expect(storable([.eTag: "\"x\""], path: "/page")?.freshness == 0, "stored stale to save the body on revalidation")
        let modified = HTTPDate.format(Date().timeIntervalSince1970 - 10_000)
        let heuristic = try #require(storable([.lastModified: modified]))
        #expect(abs(heuristic.freshness - 1000) < 2, "10% of the age since Last-Modified")
        #expect(storable([:], status: 418) == nil)
        #expect(storable([:], status: 302) == nil)
        #expect(storable([.cacheControl: "max-age=60"], status: 302)?.freshness == 60)
        var aggressive = Self.standard
        aggressive.level = .aggressive
        #expect(storable([:], path: "/page", settings: aggressive)?.freshness == 3600)
        var rule = Self.standard
        rule.edgeTTL = 5
        rule.edgeTTLOverrides = true
        #expect(storable([.cacheControl: "max-age=600"], settings: rule)?.freshness == 5)
        let tagged = try #require(storable([.cacheControl: "max-age=1", .cacheTag: "a, B,,c"]))
        #expect(tagged.tags == ["a", "B", "c"])
    }

    @Test("the variant key reduces Accept-Encoding to what the edge distinguishes")
    func variants() {
        let names = ["accept-encoding", "x-variant"]
        let chrome = CachePolicy.variant(names, request: [.acceptEncoding: "gzip, deflate, br, zstd", HTTPField.Name("X-Variant")!: "a"])
        let firefox = CachePolicy.variant(names, request: [.acceptEncoding: "br, gzip", HTTPField.Name("X-Variant")!: "a"])
        #expect(chrome == firefox)
        #expect(CachePolicy.variant(names, request: [.acceptEncoding: "gzip"]) != chrome)
        #expect(CachePolicy.variant([], request: [:]) == "")
    }

    @Test("single byte ranges; several or malformed ones are ignored")
    func ranges() {
        #expect(ByteRange.parse("bytes=0-9", length: 100) == .satisfiable(0...9))
        #expect(ByteRange.parse("bytes=90-", length: 100) == .satisfiable(90...99))
        #expect(ByteRange.parse("bytes=-10", length: 100) == .satisfiable(90...99))
        #expect(ByteRange.parse("bytes=-1000", length: 100) == .satisfiable(0...99))
        #expect(ByteRange.parse("bytes=50-5000", length: 100) == .satisfiable(50...99))
        #expect(ByteRange.parse("bytes=100-", length: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-1,5-6", length: 100) == .ignored)
        #expect(ByteRange.parse("bytes=9-1", length: 100) == .ignored)
        #expect(ByteRange.parse("items=0-1", length: 100) == .ignored)
    }

    @Test("content negotiation honours q=0 and prefers Brotli")
    func negotiation() {
        #expect(Compression.negotiate(acceptEncoding: "gzip, br") == .br)
        #expect(Compression.negotiate(acceptEncoding: "br;q=0, gzip") == .gzip)
        #expect(Compression.negotiate(acceptEncoding: "identity") == nil)
        #expect(Compression.negotiate(acceptEncoding: "*") == .br)
        #expect(Compression.negotiate(acceptEncoding: nil) == nil)
        #expect(Compression.isCompressible(contentType: "text/html; charset=utf-8"))
        #expect(Compression.isCompressible(contentType: "application/vnd.api+json"))
        #expect(!Compression.isCompressible(contentType: "image/jpeg"))
    }

    @Test("streamed gzip output is a valid gzip of the input")
    func gzipStream() throws {
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 2000)
        let compressor = Compressor(.gzip)
        var output = ByteBuffer()
        for chunk in stride(from: 0, to: text.utf8.count, by: 7000) {
            var piece = compressor.compress(ByteBuffer(string: String(text.dropFirst(chunk).prefix(7000))))
            output.writeBuffer(&piece)
        }
        var tail = compressor.compress(ByteBuffer(), finish: true)
        output.writeBuffer(&tail)
        #expect(output.getBytes(at: 0, length: 2) == [0x1f, 0x8b])
        #expect(output.readableBytes < text.utf8.count / 20)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID()).gz").path
        FileManager.default.createFile(atPath: path, contents: Data(buffer: output))
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", path]
        let pipe = Pipe()
        gunzip.standardOutput = pipe
        try gunzip.run()
        let decoded = pipe.fileHandleForReading.readDataToEndOfFile()
        gunzip.waitUntilExit()
        #expect(String(decoding: decoded, as: UTF8.self) == text)
    }

    @Test("the memory tier evicts the least recently used bodies past its size")
    func memoryTier() {
        let store = CacheStore(
            directory: nil, limits: .init(memoryBytes: 3000, diskBytes: 0, memoryObjectBytes: 1500, maxObjectBytes: 1 << 20),
            logger: Logger(label: "test"))
        func put(_ key: String, _ size: Int) {
            let writer = store.writer()
            writer.append(ByteBuffer(repeating: 1, count: size))
            let response = CachedResponse(
                key: key, variant: "", domain: "example.com", status: 200, headers: [], responseTime: 0, initialAge: 0, freshness: 60,
                staleWhileRevalidate: 0, staleIfError: 0, mustRevalidate: false, noCache: false, vary: [], tags: ["t-\(key)"],
                bodyLength: 0,
                bodyFile: nil)
            store.store(response, from: writer)
        }
        put("a", 1000)
        put("b", 1000)
        #expect(store.entry(key: "a", variant: "") != nil)
        put("c", 1000)
        put("d", 1000)
        #expect(store.entry(key: "b", variant: "") == nil, "b was least recently used")
        #expect(store.entry(key: "a", variant: "") != nil && store.entry(key: "d", variant: "") != nil)
        put("huge", 2000)
        #expect(store.entry(key: "huge", variant: "") == nil, "above the memory object size without a disk tier")
        #expect(store.usage.memoryBytes <= 3000)
        let purger = Purger(store: store, logger: Logger(label: "test"))
        #expect(purger.run(PurgeCommand(id: 1, domain: "example.com", everything: false, urls: [], prefixes: [], tags: ["T-A"])) == 1)
        #expect(store.entry(key: "a", variant: "") == nil)
        #expect(Purger.key("https://WWW.Example.com:443/x?y=1") == "www.example.com/x?y=1")
        #expect(Purger.key("example.com") == "example.com/")
    }
}
