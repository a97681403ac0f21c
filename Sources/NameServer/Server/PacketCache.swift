import DCDNCore
import DNSKit
import Synchronization

/// Whole responses by query, as authoritative servers keep them (PowerDNS's packet cache): a
/// repeated query is answered by copying bytes, patching the ID and the question's letter case.
/// The key is the query after its ID with the name lower-cased (so EDNS size, DO bit and client
/// subnet are part of it), the transport, and the client's country, on which GeoDNS answers
/// depend. Everything is dropped when the configuration version changes.
final class PacketCache: Sendable {
    struct Key: Hashable {
        var query: [UInt8]
        var country: UInt16
        var tcp: Bool
    }

    private struct State {
        var version: Int64 = -1
        var entries: [Key: [UInt8]] = [:]
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 100_000) { self.capacity = capacity }

    /// The cache key, or nil for queries not worth caching (odd question, too large).
    static func key(for query: [UInt8], country: UInt16, tcp: Bool) -> Key? {
        guard query.count >= 17, query.count <= 512, query[4] == 0, query[5] == 1 else { return nil }
        var bytes = Array(query[2...])
        // Lower-case the question name in place (offset 12 in the message, 10 in the key).
        var position = 10
        while position < bytes.count {
            let length = Int(bytes[position])
            if length == 0 { return Key(query: bytes, country: country, tcp: tcp) }
            guard length < 64, position + length < bytes.count else { return nil }
            for index in (position + 1)...(position + length) where (65...90).contains(bytes[index]) { bytes[index] |= 0x20 }
            position += length + 1
        }
        return nil
    }

    func response(for key: Key, version: Int64, query: [UInt8]) -> [UInt8]? {
        guard var response = state.withLock({ $0.version == version ? $0.entries[key] : nil }) else { return nil }
        response[0] = query[0]
        response[1] = query[1]
        // The question as the client wrote it (case preserved); answers point at it by compression.
        let questionEnd = 12 + Self.nameLength(query, at: 12) + 4
        guard questionEnd <= response.count, questionEnd <= query.count else { return nil }
        response.replaceSubrange(12..<questionEnd, with: query[12..<questionEnd])
        return response
    }

    func store(_ response: [UInt8], for key: Key, version: Int64) {
        state.withLock { state in
            if state.version != version {
                state.version = version
                state.entries = [:]
            }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = response
        }
    }

    static func nameLength(_ bytes: [UInt8], at start: Int) -> Int {
        var position = start
        while position < bytes.count, bytes[position] != 0 { position += Int(bytes[position]) + 1 }
        return position - start + 1
    }
}
