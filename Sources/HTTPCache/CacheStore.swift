import Crypto
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOFoundationCompat
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The edge's shared cache: every stored response's metadata in an index, bodies in a memory
/// tier (small objects, LRU by bytes) and a disk tier (every object, LRU by last use). Both tiers
/// are size-bounded. The disk tier survives restarts: each object is a body file and a metadata
/// file, each written to a temporary name, fsynced and renamed, the metadata last and naming its
/// body with its length, so a crash leaves either the old object, the new one or none.
public final class CacheStore: Sendable {
    public struct Limits: Sendable {
        public var memoryBytes: Int
        public var diskBytes: Int
        /// Objects above this size are kept on disk only.
        public var memoryObjectBytes: Int
        /// Objects above this size are not stored at all (see `storableBytes`).
        public var maxObjectBytes: Int

        public init(
            memoryBytes: Int = 256 << 20, diskBytes: Int = 10 << 30, memoryObjectBytes: Int = 4 << 20, maxObjectBytes: Int = 1 << 30
        ) {
            self.memoryBytes = memoryBytes
            self.diskBytes = diskBytes
            self.memoryObjectBytes = memoryObjectBytes
            self.maxObjectBytes = maxObjectBytes
        }

        /// The largest object stored: `maxObjectBytes`, and at most a quarter of the disk tier, so
        /// that one large response cannot evict everything else to make room for itself.
        public var storableBytes: Int { diskBytes > 0 ? min(maxObjectBytes, diskBytes / 4) : maxObjectBytes }
    }

    /// A stored response and where its body is.
    package struct Entry: Sendable {
        package var response: CachedResponse
        package var body: Body

        package init(response: CachedResponse, body: Body) {
            self.response = response
            self.body = body
        }
    }

    package enum Body: Sendable {
        case memory(ByteBuffer)
        case file(String)
    }

    private struct Index {
        package var entries: [String: CachedResponse] = [:]
        /// Variants of each primary key.
        package var variants: [String: Set<String>] = [:]
        package var memory = LRU()
        package var diskBytes = 0
        package var lastUse: [String: UInt64] = [:]
        package var clock: UInt64 = 0
    }

    package let directory: String?
    package let limits: Limits
    package let logger: Logger
    private let index = Mutex(Index())
    private let diskWriter: DiskWriter?

    /// `directory` nil keeps a memory-only cache (tests).
    public init(directory: String?, limits: Limits = .init(), logger: Logger) {
        self.directory = directory
        self.limits = limits
        self.logger = logger
        diskWriter = directory == nil ? nil : DiskWriter()
        if let directory { load(directory) }
        diskWriter?.start { [weak self] jobs in self?.persist(jobs) }
    }

    // MARK: Lookup

    package enum Lookup {
        /// Nothing stored for the URL.
        case uriMiss
        /// The URL is stored, but not for this request's values of the Vary fields.
        case varyMiss
        case found(Entry)
    }

    /// The stored response for a URL and a request's headers (its variant), in one pass over the
    /// index; `memoryOnly` never touches the disk (callers on an event loop).
    package func lookup(key: String, request: HTTPFields, memoryOnly: Bool = false) -> Lookup {
        let found: (id: String, response: CachedResponse, body: ByteBuffer?)?? = index.withLock { index in
            guard let first = index.variants[key]?.first, let some = index.entries[key + "\u{0}" + first] else { return nil }
            let variant = CachePolicy.variant(some.vary, request: request)
            // Most URLs have one variant: the one just read.
            let id = variant == first ? some.entryID : key + "\u{0}" + variant
            guard let response = variant == first ? some : index.entries[id] else { return .some(nil) }
            index.clock += 1
            index.lastUse[id] = index.clock
            return (id, response, index.memory.get(id))
        }
        guard let found else { return .uriMiss }
        guard let (id, response, memoryBody) = found else { return .varyMiss }
        return resolve(id: id, response: response, memoryBody: memoryBody, memoryOnly: memoryOnly).map { .found($0) } ?? .uriMiss
    }

    /// The stored response of one variant.
    package func entry(key: String, variant: String, memoryOnly: Bool = false) -> Entry? {
        let id = key + "\u{0}" + variant
        let found: (CachedResponse, ByteBuffer?)? = index.withLock { index in
            guard let response = index.entries[id] else { return nil }
            index.clock += 1
            index.lastUse[id] = index.clock
            return (response, index.memory.get(id))
        }
        guard let (response, memoryBody) = found else { return nil }
        return resolve(id: id, response: response, memoryBody: memoryBody, memoryOnly: memoryOnly)
    }

    /// Where a found response's body is: memory, a small file promoted to memory, or a large file.
    private func resolve(id: String, response: CachedResponse, memoryBody: ByteBuffer?, memoryOnly: Bool) -> Entry? {
        if let memoryBody { return Entry(response: response, body: .memory(memoryBody)) }
        if memoryOnly { return nil }
        guard let directory, let file = response.bodyFile else {
            // Memory-only and evicted from memory.
            remove(ids: [id])
            return nil
        }
        let path = directory + "/" + file
        if response.bodyLength <= limits.memoryObjectBytes {
            guard let data = FileManager.default.contents(atPath: path), data.count == response.bodyLength else {
                remove(ids: [id])
                return nil
            }
            let buffer = ByteBuffer(data: data)
            index.withLock { index in
                if index.entries[id]?.bodyFile == file { index.memory.put(id, buffer, limit: limits.memoryBytes) }
            }
            return Entry(response: response, body: .memory(buffer))
        }
        return Entry(response: response, body: .file(path))
    }

    // MARK: Storing

    /// Stores a complete response whose body the writer collected. Small bodies are served from
    /// memory at once and reach the disk in the background; a spooled body is renamed into place.
    package func store(_ response: CachedResponse, from writer: CacheWriter) {
        // A response that sets a cookie is one visitor's: never shared (CachePolicy refuses it;
        // this is the store's own guarantee for every path that writes an entry).
        guard !writer.failed, !response.setsCookie else { return }
        var response = response
        response.bodyLength = writer.length
        response.bodyFile = nil
        let id = response.entryID
        var spooledFile: String?
        if let directory, let spooled = writer.finishSpool() {
            let file = "\(Self.hash(id))-\(UUID().uuidString.prefix(8)).body"
            guard rename(directory + "/" + spooled, directory + "/" + file) == 0 else {
                unlink(directory + "/" + spooled)
                return
            }
            spooledFile = file
            response.bodyFile = file
        }
        let memoryBody = spooledFile == nil && response.bodyLength <= limits.memoryObjectBytes ? writer.buffer : nil
        guard memoryBody != nil || spooledFile != nil else { return }
        let (previousFile, evicted): (String?, [String]) = index.withLock { index in
            let previous = index.entries[id]?.bodyFile
            if let previous = index.entries[id], previous.bodyFile != nil { index.diskBytes -= previous.bodyLength }
            index.entries[id] = response
            index.variants[response.key, default: []].insert(response.variant)
            index.clock += 1
            index.lastUse[id] = index.clock
            if let memoryBody { index.memory.put(id, memoryBody, limit: limits.memoryBytes) } else { index.memory.remove(id) }
            if response.bodyFile != nil { index.diskBytes += response.bodyLength }
            return (previous, Self.overDisk(&index, limit: limits.diskBytes))
        }
        if let directory, let previousFile { unlink(directory + "/" + previousFile) }
        if !evicted.isEmpty { remove(ids: evicted) }
        // Behind on disk writes: the object stays in memory only rather than queueing without bound.
        if let diskWriter, !diskWriter.enqueue(.init(response: response, body: memoryBody)), let spooledFile, let directory {
            remove(ids: [id])
            unlink(directory + "/" + spooledFile)
        }
    }

    /// Makes a batch of stored responses durable off the request path: bodies and metadata go
    /// to temporary files, one sync makes them durable, then renames publish them (bodies before
    /// their metadata), so a crash leaves whole objects or none.
    private func persist(_ jobs: [DiskWriter.Job]) {
        guard let directory else { return }
        var staged: [(response: CachedResponse, ownBody: Bool, renames: [(String, String)])] = []
        for job in jobs {
            var response = job.response
            let id = response.entryID
            let tag = UUID().uuidString.prefix(8)
            var renames: [(String, String)] = []
            do {
                if let body = job.body {
                    let file = "\(Self.hash(id))-\(tag).body"
                    try Self.write(Data(buffer: body), to: "\(directory)/\(file).tmp")
                    renames.append(("\(directory)/\(file).tmp", "\(directory)/\(file)"))
                    response.bodyFile = file
                }
                let meta = "\(directory)/\(Self.hash(id)).meta"
                try Self.write(try JSONEncoder().encode(response), to: "\(meta).\(tag).tmp")
                renames.append(("\(meta).\(tag).tmp", meta))
                staged.append((response, job.body != nil, renames))
            } catch {
                logger.warning("could not write a cache object to disk", metadata: ["error": "\(error)"])
                for (temporary, _) in renames { unlink(temporary) }
            }
        }
        guard !staged.isEmpty else { return }
        sync()
        for (response, ownBody, renames) in staged {
            let id = response.entryID
            // The entry may have been replaced or purged meanwhile: then this copy is garbage.
            let (kept, evicted) = index.withLock { index -> (Bool, [String]) in
                guard var current = index.entries[id], current.responseTime == response.responseTime else { return (false, []) }
                if current.bodyFile == nil {
                    current.bodyFile = response.bodyFile
                    index.entries[id] = current
                    index.diskBytes += current.bodyLength
                } else if current.bodyFile != response.bodyFile {
                    return (false, [])
                }
                return (true, Self.overDisk(&index, limit: limits.diskBytes))
            }
            if kept {
                for (temporary, final) in renames { rename(temporary, final) }
            } else {
                for (temporary, _) in renames { unlink(temporary) }
                if !ownBody, let file = response.bodyFile, index.withLock({ $0.entries[id]?.bodyFile != file }) {
                    unlink(directory + "/" + file)
                }
            }
            if !evicted.isEmpty { remove(ids: evicted) }
        }
    }

    /// Writes a whole file (not synced: `persist` syncs a batch at once).
    package static func write(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(descriptor) }
        let complete = data.withUnsafeBytes { raw -> Bool in
            var written = 0
            while written < raw.count {
                let count = Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if count <= 0 { return false }
                written += count
            }
            return true
        }
        guard complete else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    /// Collects a body for `store`: in memory while small, then spooled to a temporary file in
    /// the cache folder so a large download is never held in memory.
    package func writer() -> CacheWriter {
        CacheWriter(directory: directory, memoryLimit: limits.memoryObjectBytes, maxBytes: limits.storableBytes)
    }

    /// Replaces the metadata of a stored response (after a 304), keeping its body.
    package func update(_ response: CachedResponse) {
        let id = response.entryID
        guard !response.setsCookie else { return remove(ids: [id]) }
        let current = index.withLock { $0.entries[id] }
        guard let current else { return }
        var response = response
        response.bodyFile = current.bodyFile
        response.bodyLength = current.bodyLength
        index.withLock { index in
            if index.entries[id] != nil { index.entries[id] = response }
        }
        // Its body is on disk already: only the metadata changes.
        if response.bodyFile != nil { _ = diskWriter?.enqueue(.init(response: response, body: nil)) }
    }

    // MARK: Removal

    /// One stored response (a key's variant), by `CachedResponse.entryID`.
    package func remove(entryID: String) { remove(ids: [entryID]) }

    /// Every variant of these primary keys.
    package func remove(keys: [String]) {
        let ids = index.withLock { index in keys.flatMap { key in (index.variants[key] ?? []).map { key + "\u{0}" + $0 } } }
        remove(ids: ids)
    }

    /// Removes the stored responses of `domain` that `matches` selects; returns how many.
    @discardableResult
    package func remove(domain: String, where matches: (CachedResponse) -> Bool) -> Int {
        let ids = index.withLock { index in
            index.entries.values.filter { $0.domain == domain && matches($0) }.map(\.entryID)
        }
        remove(ids: ids)
        return ids.count
    }

    private func remove(ids: [String]) {
        let files: [String] = index.withLock { index in
            var files: [String] = []
            for id in ids {
                guard let response = index.entries.removeValue(forKey: id) else { continue }
                index.lastUse.removeValue(forKey: id)
                index.memory.remove(id)
                index.variants[response.key]?.remove(response.variant)
                if index.variants[response.key]?.isEmpty == true { index.variants.removeValue(forKey: response.key) }
                if let file = response.bodyFile {
                    index.diskBytes -= response.bodyLength
                    files.append(file)
                    files.append(Self.hash(id) + ".meta")
                }
            }
            return files
        }
        guard let directory else { return }
        for file in files { unlink(directory + "/" + file) }
    }

    public struct Usage: Sendable, Equatable {
        public var objects: Int
        public var memoryBytes: Int
        public var diskBytes: Int
    }

    public var usage: Usage {
        index.withLock { Usage(objects: $0.entries.count, memoryBytes: $0.memory.bytes, diskBytes: $0.diskBytes) }
    }

    // MARK: Disk

    /// The least recently used entries to drop until the disk tier is at 90% of its limit.
    private static func overDisk(_ index: inout Index, limit: Int) -> [String] {
        guard index.diskBytes > limit else { return [] }
        var bytes = index.diskBytes
        var evicted: [String] = []
        for (id, _) in index.lastUse.sorted(by: { $0.value < $1.value }) {
            guard bytes > limit * 9 / 10 else { break }
            guard let response = index.entries[id], response.bodyFile != nil else { continue }
            bytes -= response.bodyLength
            evicted.append(id)
        }
        return evicted
    }

    /// Rebuilds the index from the folder: temporary files of an interrupted write, bodies no
    /// metadata names and metadata whose body is missing or of the wrong length are deleted.
    private func load(_ directory: String) {
        let fileManager = FileManager.default
        try? fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let names = (try? fileManager.contentsOfDirectory(atPath: directory)) ?? []
        var referenced = Set<String>()
        var loaded: [CachedResponse] = []
        for name in names where name.hasSuffix(".meta") {
            let path = directory + "/" + name
            guard let data = fileManager.contents(atPath: path), var response = try? JSONDecoder().decode(CachedResponse.self, from: data),
                let file = response.bodyFile,
                let attributes = try? fileManager.attributesOfItem(atPath: directory + "/" + file),
                (attributes[.size] as? NSNumber)?.intValue == response.bodyLength
            else {
                unlink(path)
                continue
            }
            response.buildFields()
            // Written by a version that stored cookies: never served.
            if response.setsCookie {
                unlink(path)
                continue
            }
            referenced.insert(file)
            loaded.append(response)
        }
        for name in names where name.hasSuffix(".tmp") || (name.hasSuffix(".body") && !referenced.contains(name)) {
            unlink(directory + "/" + name)
        }
        index.withLock { index in
            for response in loaded.sorted(by: { $0.responseTime < $1.responseTime }) {
                index.entries[response.entryID] = response
                index.variants[response.key, default: []].insert(response.variant)
                index.clock += 1
                index.lastUse[response.entryID] = index.clock
                index.diskBytes += response.bodyLength
            }
        }
        if !loaded.isEmpty { logger.info("cache loaded from disk", metadata: ["objects": "\(loaded.count)"]) }
    }

    package static func hash(_ id: String) -> String {
        SHA256.hash(data: Data(id.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// Temporary file, fsync, rename: readers see the old file or the whole new one.
    package static func writeDurably(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        try write(data, to: temporary)
        let descriptor = open(temporary, O_RDONLY)
        let synced = descriptor >= 0 && fsync(descriptor) == 0
        if descriptor >= 0 { close(descriptor) }
        guard synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}

/// Least-recently-used bodies bounded by their total size.
package struct LRU {
    package init() {}

    private final class Node {
        package let id: String
        package var body: ByteBuffer
        package var previous: Node?
        package var next: Node?
        package init(id: String, body: ByteBuffer) {
            self.id = id
            self.body = body
        }
    }

    private var nodes: [String: Node] = [:]
    private var head: Node?
    private var tail: Node?
    package private(set) var bytes = 0

    package mutating func get(_ id: String) -> ByteBuffer? {
        guard let node = nodes[id] else { return nil }
        unlink(node)
        pushFront(node)
        return node.body
    }

    package mutating func put(_ id: String, _ body: ByteBuffer, limit: Int) {
        remove(id)
        guard body.readableBytes <= limit else { return }
        let node = Node(id: id, body: body)
        nodes[id] = node
        pushFront(node)
        bytes += body.readableBytes
        while bytes > limit, let last = tail { remove(last.id) }
    }

    package mutating func remove(_ id: String) {
        guard let node = nodes.removeValue(forKey: id) else { return }
        unlink(node)
        bytes -= node.body.readableBytes
    }

    private mutating func unlink(_ node: Node) {
        node.previous?.next = node.next
        node.next?.previous = node.previous
        if head === node { head = node.next }
        if tail === node { tail = node.previous }
        node.previous = nil
        node.next = nil
    }

    private mutating func pushFront(_ node: Node) {
        node.next = head
        head?.previous = node
        head = node
        if tail == nil { tail = node }
    }
}

/// A body on its way into the cache; used by one response stream at a time.
package final class CacheWriter: @unchecked Sendable {
    package let directory: String?
    package let memoryLimit: Int
    package let maxBytes: Int
    package private(set) var buffer = ByteBuffer()
    package private(set) var length = 0
    package private(set) var spooledName: String?
    private var descriptor: Int32 = -1
    /// Too large, or the spool file failed: the response is served but not stored.
    package private(set) var failed = false

    package init(directory: String?, memoryLimit: Int, maxBytes: Int) {
        self.directory = directory
        self.memoryLimit = memoryLimit
        self.maxBytes = maxBytes
    }

    package func append(_ chunk: ByteBuffer) {
        guard !failed else { return }
        length += chunk.readableBytes
        if length > maxBytes { return abandon() }
        if descriptor < 0, length > memoryLimit {
            guard let directory else { return abandon() }
            let name = "spool-\(UUID().uuidString).tmp"
            descriptor = open(directory + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else { return abandon() }
            spooledName = name
            guard writeAll(buffer) else { return abandon() }
            buffer = ByteBuffer()
        }
        if descriptor >= 0 {
            if !writeAll(chunk) { abandon() }
        } else {
            var chunk = chunk
            buffer.writeBuffer(&chunk)
        }
    }

    /// Closes the spool file (the disk writer syncs it); its name, or nil when the body is in `buffer`.
    package func finishSpool() -> String? {
        guard descriptor >= 0 else { return nil }
        close(descriptor)
        descriptor = -1
        return spooledName
    }

    package func abandon() {
        failed = true
        buffer = ByteBuffer()
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        if let directory, let spooledName { unlink(directory + "/" + spooledName) }
        spooledName = nil
    }

    private func writeAll(_ chunk: ByteBuffer) -> Bool {
        chunk.withUnsafeReadableBytes { raw in
            var written = 0
            while written < raw.count {
                let count = write(descriptor, raw.baseAddress! + written, raw.count - written)
                if count <= 0 { return false }
                written += count
            }
            return true
        }
    }

    deinit {
        if descriptor >= 0 { abandon() }
    }
}

/// The disk tier's writer: one thread taking batches of stored responses, so disk latency never
/// reaches the request path or Swift's cooperative threads. Bounded: when it falls behind,
/// `enqueue` refuses and the object stays in the memory tier only.
package final class DiskWriter: @unchecked Sendable {
    package struct Job {
        package let response: CachedResponse
        /// nil when the body is already a file (spooled).
        package let body: ByteBuffer?
    }

    private let condition = NSCondition()
    private var queue: [Job] = []
    private var queuedBytes = 0
    package static let maxJobs = 4096
    package static let maxBytes = 128 << 20

    package func start(_ persist: @escaping @Sendable ([Job]) -> Void) {
        let thread = Thread { [self] in
            while true {
                condition.lock()
                while queue.isEmpty { condition.wait() }
                let batch = queue
                queue = []
                queuedBytes = 0
                condition.unlock()
                persist(batch)
            }
        }
        thread.name = "dcdn-cache-writer"
        thread.start()
    }

    package func enqueue(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let bytes = job.body?.readableBytes ?? 0
        guard queue.count < Self.maxJobs, queuedBytes + bytes <= Self.maxBytes else { return false }
        queue.append(job)
        queuedBytes += bytes
        condition.signal()
        return true
    }
}
