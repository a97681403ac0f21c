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

    @Test("a purge by tag removes the tagged entries; purge URLs are keyed like requests")
    func purgeByTag() {
        let store = CacheStore(
            directory: nil, limits: .init(memoryBytes: 3000, diskBytes: 0, memoryObjectBytes: 1500, maxObjectBytes: 1 << 20),
            logger: Logger(label: "test"))
        let writer = store.writer()
        writer.append(ByteBuffer(repeating: 1, count: 100))
        store.store(
            CachedResponse(
                key: "a", variant: "", domain: "example.com", status: 200, headers: [], responseTime: 0, initialAge: 0, freshness: 60,
                staleWhileRevalidate: 0, staleIfError: 0, mustRevalidate: false, noCache: false, vary: [], tags: ["t-a"], bodyLength: 0,
                bodyFile: nil), from: writer)
        #expect(store.entry(key: "a", variant: "") != nil)
        let purger = Purger(store: store, logger: Logger(label: "test"))
        #expect(purger.run(PurgeCommand(id: 1, domain: "example.com", everything: false, urls: [], prefixes: [], tags: ["T-A"])) == 1)
        #expect(store.entry(key: "a", variant: "") == nil)
        #expect(Purger.key("https://WWW.Example.com:443/x?y=1") == "www.example.com/x?y=1")
        #expect(Purger.key("example.com") == "example.com/")
    }
}
