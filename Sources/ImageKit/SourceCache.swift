import Crypto
import Foundation
import NIOCore
import Synchronization

/// Recently fetched sources, so that every size and format of one image costs one fetch: bounded
/// by bytes (least recently used out first), each kept as long as its own Cache-Control allows
/// (an hour when it says nothing, never past a week; no-store, no-cache and private are not kept).
final class SourceCache: Sendable {
    struct Entry: Sendable {
        let source: SourceFetcher.Source
        /// SHA-256 of the bytes, the base of every result's ETag.
        let digest: String
        let expires: Double
    }

    static let defaultLifetime = 3600.0
    static let maxLifetime = 7 * 86400.0

    let capacity: Int
    private let state = Mutex<(entries: [URL: (entry: Entry, used: UInt64)], bytes: Int, clock: UInt64)>(([:], 0, 0))

    init(capacity: Int) {
        self.capacity = capacity
    }

    func entry(for url: URL, now: Double = Date().timeIntervalSince1970) -> Entry? {
        state.withLock { state in
            guard let found = state.entries[url] else { return nil }
            guard found.entry.expires > now else {
                state.bytes -= found.entry.source.body.readableBytes
                state.entries[url] = nil
                return nil
            }
            state.clock += 1
            state.entries[url]?.used = state.clock
            return found.entry
        }
    }

    /// Remembers a source when it may be kept; returns it with its digest either way.
    @discardableResult
    func remember(_ source: SourceFetcher.Source, for url: URL, now: Double = Date().timeIntervalSince1970) -> Entry {
        var hasher = SHA256()
        source.body.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let lifetime = Self.lifetime(cacheControl: source.cacheControl)
        let entry = Entry(source: source, digest: digest, expires: now + (lifetime ?? 0))
        let size = source.body.readableBytes
        guard let lifetime, lifetime > 0, size <= capacity / 4 else { return entry }
        state.withLock { state in
            if let old = state.entries[url] { state.bytes -= old.entry.source.body.readableBytes }
            state.clock += 1
            state.entries[url] = (entry, state.clock)
            state.bytes += size
            while state.bytes > capacity, let oldest = state.entries.min(by: { $0.value.used < $1.value.used }) {
                state.bytes -= oldest.value.entry.source.body.readableBytes
                state.entries[oldest.key] = nil
            }
        }
        return entry
    }

    /// Seconds a source may be reused, or nil when it must not be kept.
    static func lifetime(cacheControl: String?) -> Double? {
        let directives = (cacheControl ?? "").lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if directives.contains(where: { $0 == "no-store" || $0 == "no-cache" || $0 == "private" }) { return nil }
        for name in ["s-maxage=", "max-age="] {
            if let directive = directives.first(where: { $0.hasPrefix(name) }),
                let seconds = Double(directive.dropFirst(name.count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
            {
                return min(max(seconds, 0), maxLifetime)
            }
        }
        return defaultLifetime
    }
}
