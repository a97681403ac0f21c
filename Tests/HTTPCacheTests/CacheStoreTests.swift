import Foundation
import Logging
import NIOCore
import Testing

@testable import HTTPCache

@Suite("Cache store")
struct CacheStoreTests {
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
    }
}
