import DCDNCore
import Foundation
import HTTPCache
import Logging
import NodeProtocol
import Synchronization

/// Runs the purges that arrive with the configuration, each once: the IDs already run are kept
/// in the cache folder so a restarted node does not purge again what it refilled since.
final class Purger: Sendable {
    let store: CacheStore
    let logger: Logger
    let ledger: String?
    private let done: Mutex<Set<Int64>>

    init(store: CacheStore, logger: Logger) {
        self.store = store
        self.logger = logger
        ledger = store.directory.map { $0 + "/purges.json" }
        let saved = ledger.flatMap { FileManager.default.contents(atPath: $0) }.flatMap {
            try? JSONDecoder().decode([Int64].self, from: $0)
        }
        done = Mutex(Set(saved ?? []))
    }

    func run(_ purges: [PurgeCommand]) {
        let pending = done.withLock { done in purges.filter { !done.contains($0.id) } }
        guard !pending.isEmpty else { return }
        for purge in pending {
            let removed = run(purge)
            logger.info("purged", metadata: ["domain": "\(purge.domain)", "purge": "\(purge.id)", "objects": "\(removed)"])
        }
        let ids = done.withLock { done -> [Int64] in
            for purge in pending { done.insert(purge.id) }
            if done.count > PurgeCommand.retained * 2 { done = Set(done.sorted().suffix(PurgeCommand.retained)) }
            return done.sorted()
        }
        if let ledger, let data = try? JSONEncoder().encode(ids) { try? CacheStore.writeDurably(data, to: ledger) }
    }

    /// Removes what one purge selects; returns how many stored responses.
    @discardableResult
    func run(_ purge: PurgeCommand) -> Int {
        if purge.everything { return store.remove(domain: purge.domain) { _ in true } }
        let urls = Set(purge.urls.map(Self.key))
        let prefixes = purge.prefixes.map(Self.key)
        let tags = Set(purge.tags.map { $0.lowercased() })
        return store.remove(domain: purge.domain) { response in
            urls.contains(response.key) || prefixes.contains { response.key.hasPrefix($0) }
                || response.tags.contains { tags.contains($0.lowercased()) }
        }
    }

    /// `https://Host/path?q` or `Host/path?q` as a cache key: `host/path?q`.
    static func key(_ url: String) -> String {
        var rest = Substring(url)
        for scheme in ["https://", "http://"] where rest.lowercased().hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        return EdgeRoutes.hostName(String(rest[..<slash])) + (slash == rest.endIndex ? "/" : rest[slash...])
    }
}
