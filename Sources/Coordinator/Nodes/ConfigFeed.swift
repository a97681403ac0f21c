import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import NodeProtocol
import SQLKit
import Synchronization

/// The configuration every role syncs: a global version that each change increments, long-poll
/// waits that wake on a change, and full or delta snapshots built from the database.
public final class ConfigFeed: Sendable {
    let store: DatabaseStore
    let settings: DCDNSettings
    /// The areas that fill in the snapshots.
    let areas: ProductAreaList
    private let signal: ChangeSignal
    /// Times the long polls; tests pass a clock they advance by hand.
    let clock: PollClock
    /// Set on shutdown: long polls answer at once so the server can drain.
    private let stopping = Atomic<Bool>(false)

    init(store: DatabaseStore, settings: DCDNSettings, areas: ProductAreaList, clock: PollClock = PollClock(ContinuousClock())) {
        self.store = store
        self.settings = settings
        self.areas = areas
        self.clock = clock
        self.signal = ChangeSignal(clock: clock)
    }

    /// Long polls waiting for a change on this replica now.
    var waitingPolls: Int { signal.waiting }

    /// Increments the version. Outside a transaction it also wakes waiting long polls on this
    /// replica; inside one, call `changed()` after the commit, or the waiters would read the old
    /// version. Other replicas see the change within a second through the database.
    @discardableResult
    public func bump(on database: (any Database)? = nil) async throws -> Int64 {
        let db = database ?? store.db
        guard let sql = db as? any SQLDatabase else {
            throw APIError(.internalServerError, code: .sqlUnavailable, detail: "database does not speak SQL")
        }
        struct Row: Decodable { var version: Int64 }
        let row = try await sql.raw("UPDATE config_state SET version = version + 1 WHERE id = 1 RETURNING version").first(
            decoding: Row.self)
        if database == nil { signal.fire() }
        return row?.version ?? 0
    }

    /// Wakes waiting long polls after a committed transaction that bumped the version.
    public func changed() { signal.fire() }

    /// Ends every long poll now and makes new ones return immediately (graceful shutdown).
    public func stopWaiting() {
        stopping.store(true, ordering: .relaxed)
        signal.fire()
    }

    public func currentVersion() async throws -> Int64 {
        try await ConfigState.find(1, on: store.db)?.version ?? 0
    }

    /// Waits until the version passes `since` or `timeout` ends; true when it changed.
    public func waitForChange(since: Int64, timeout: Duration) async throws -> Bool {
        let deadline = clock.elapsed() + timeout
        while true {
            if try await currentVersion() > since { return true }
            let remaining = deadline - clock.elapsed()
            if remaining <= .zero || stopping.load(ordering: .relaxed) { return false }
            // Other replicas' changes arrive only through the database: look again each second.
            await signal.wait(upTo: min(remaining, .seconds(1)))
        }
    }

    /// The configuration for a node running `roles`: everything (`since` nil) or what changed
    /// after `since`, with only those roles' sections. Each product area fills in its part
    /// (`ProductArea.contribute(to:)`); certificates' private keys are opened only when the edge
    /// section is asked for.
    public func snapshot(since: Int64?, roles: Set<NodeRole>) async throws -> NodeConfigSnapshot {
        let db = store.db
        let version = try await currentVersion()
        var query = Domain.query(on: db)
        if let since { query = query.filter(\.$configVersion > since) }
        let domains = try await query.sort(\.$name).all()
        let removed = since.map { since in DomainTombstone.query(on: db).filter(\.$version > since) }
        let removedIDs = try await removed?.all().map(\.domainID) ?? []
        let nodes = try await Node.query(on: db).sort(\.$name).all()
        var builder = NodeFeedBuilder(roles: roles, since: since, db: db, domains: domains)
        for area in areas.all { try await area.contribute(to: &builder) }
        return NodeConfigSnapshot(
            version: version, full: since == nil, nodes: nodes.map(Self.info), removedDomains: removedIDs,
            edge: roles.contains(.edge)
                ? EdgeConfig(domains: domains.compactMap { builder.edge[$0.id!] }, purges: builder.purges, protection: builder.protection)
                : nil,
            dns: roles.contains(.dns)
                ? DNSConfig(
                    zones: domains.compactMap { builder.zones[$0.id!] }, nameservers: settings.nameservers, hostmaster: settings.hostmaster,
                    fallbackNameservers: NameserverSet(
                        configured: settings.nameservers, dnsNodes: nodes.filter { $0.roles.contains("dns") }
                    )
                    .fallbackAdditions)
                : nil)
    }

    static func info(_ node: Node) -> NodeInfo {
        NodeInfo(
            id: node.id!, name: node.name, roles: node.roles, region: node.region, country: node.country, latitude: node.latitude,
            longitude: node.longitude, ipv4: node.ipv4, ipv6: node.ipv6, healthy: node.healthy)
    }
}

/// Wakes every waiter at once; a waiter also wakes after its timeout or when cancelled.
final class ChangeSignal: Sendable {
    private let clock: PollClock
    private struct State {
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<UUID> = []
    }
    private let state = Mutex(State())

    init(clock: PollClock) { self.clock = clock }

    /// Waiters not yet woken.
    var waiting: Int { state.withLock { $0.waiters.count } }

    func fire() {
        let waiting = state.withLock { state in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    func wait(upTo timeout: Duration) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if state.cancelled.remove(id) != nil { return true }
                            state.waiters[id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let continuation = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                        if let waiting = state.waiters.removeValue(forKey: id) { return waiting }
                        state.cancelled.insert(id)
                        return nil
                    }
                    continuation?.resume()
                }
            }
            group.addTask { [clock] in try? await clock.sleep(timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}

/// The time a long poll keeps: any `Clock` with `Duration` steps, reduced to the two things the
/// feed asks of it (the production clock is `ContinuousClock`; tests move a manual one).
struct PollClock: Sendable {
    /// Time since the clock was handed over.
    let elapsed: @Sendable () -> Duration
    /// Sleeps for a duration of this clock; throws when cancelled.
    let sleep: @Sendable (Duration) async throws -> Void

    init<C: Clock<Duration>>(_ clock: C) where C: Sendable {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
    }
}
