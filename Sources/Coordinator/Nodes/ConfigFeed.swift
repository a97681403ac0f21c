import DCDNCore
import FluentKit
import Foundation
import NodeProtocol
import SQLKit
import Synchronization

/// The configuration every role syncs: a global version that each change increments, long-poll
/// waits that wake on a change, and full or delta snapshots built from the database.
public final class ConfigFeed: Sendable {
    let store: DatabaseStore
    let settings: DCDNSettings
    /// Opens certificate keys for the edges' configuration.
    let secrets: Secrets
    private let signal = ChangeSignal()
    /// Set on shutdown: long polls answer at once so the server can drain.
    private let stopping = Atomic<Bool>(false)

    init(store: DatabaseStore, settings: DCDNSettings, secrets: Secrets) {
        self.store = store
        self.settings = settings
        self.secrets = secrets
    }

    /// Increments the version. Outside a transaction it also wakes waiting long polls on this
    /// replica; inside one, call `changed()` after the commit, or the waiters would read the old
    /// version. Other replicas see the change within a second through the database.
    @discardableResult
    public func bump(on database: (any Database)? = nil) async throws -> Int64 {
        let db = database ?? store.db
        guard let sql = db as? any SQLDatabase else {
            throw APIError(.internalServerError, code: "sql_unavailable", detail: "database does not speak SQL")
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
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await currentVersion() > since { return true }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero || stopping.load(ordering: .relaxed) { return false }
            await signal.wait(upTo: min(remaining, .seconds(1)))
        }
    }

    /// The configuration for a node running `roles`: everything (`since` nil) or what changed
    /// after `since`, with only those roles' sections. Certificates' private keys are opened only
    /// when the edge section is asked for.
    public func snapshot(since: Int64?, roles: Set<NodeRole>) async throws -> NodeConfigSnapshot {
        let db = store.db
        let version = try await currentVersion()
        var query = Domain.query(on: db)
        if let since { query = query.filter(\.$configVersion > since) }
        let domains = try await query.sort(\.$name).all()
        let ids = domains.compactMap(\.id)
        let removed = since.map { since in DomainTombstone.query(on: db).filter(\.$version > since) }
        let removedIDs = try await removed?.all().map(\.domainID) ?? []
        let nodes = try await Node.query(on: db).sort(\.$name).all()
        let scope = since == nil ? nil : ids
        return NodeConfigSnapshot(
            version: version, full: since == nil, nodes: nodes.map(Self.info), removedDomains: removedIDs,
            edge: roles.contains(.edge) ? try await edgeConfig(domains, ids: ids, scope: scope, since: since) : nil,
            dns: roles.contains(.dns) ? try await dnsConfig(domains, ids: ids, scope: scope) : nil)
    }

    /// Rows of `Model` belonging to the domains `ids`, or to every domain (a full snapshot, where
    /// an `IN` list of every ID could pass the database's limit on bound parameters).
    private func rows<Model: FluentKit.Model>(
        _ type: Model.Type, of ids: [UUID]?, _ domain: KeyPath<Model, ParentProperty<Model, Domain>>
    ) -> QueryBuilder<Model> {
        let query = Model.query(on: store.db)
        return ids.map { query.filter(domain.appending(path: \.$id) ~~ $0) } ?? query
    }

    private func records(of ids: [UUID], scope: [UUID]?) async throws -> [UUID: [DomainRecord]] {
        var byDomain: [UUID: [DomainRecord]] = [:]
        guard !ids.isEmpty else { return byDomain }
        for record in try await rows(DomainRecord.self, of: scope, \.$domain).all() {
            byDomain[record.$domain.id, default: []].append(record)
        }
        return byDomain
    }

    private func dnsConfig(_ domains: [Domain], ids: [UUID], scope: [UUID]?) async throws -> DNSConfig {
        var recordsByDomain = try await records(of: ids, scope: scope)
        // Platform-published TXT records (ACME DNS-01) travel with their zone's records.
        if !ids.isEmpty {
            for challenge in try await rows(DNSChallenge.self, of: scope, \.$domain).filter(\.$expiresAt > Date()).all() {
                let record = DomainRecord(
                    domainID: challenge.$domain.id, name: challenge.name, type: "TXT", content: challenge.value,
                    ttl: DomainService.challengeTTL, priority: nil, proxied: false)
                recordsByDomain[challenge.$domain.id, default: []].append(record)
            }
        }
        return DNSConfig(
            zones: domains.map { domain in
                ZoneConfig(
                    id: domain.id!, name: domain.name, serial: domain.serial, multiNodeRedundancy: domain.multiNodeRedundancy,
                    dnsFallback: domain.dnsFallback, records: Self.records(recordsByDomain[domain.id!] ?? []))
            }, nameservers: settings.nameservers, hostmaster: settings.hostmaster)
    }

    private func edgeConfig(_ domains: [Domain], ids: [UUID], scope: [UUID]?, since: Int64?) async throws -> EdgeConfig {
        let recordsByDomain = try await records(of: ids, scope: scope)
        var rulesByDomain: [UUID: [PageRule]] = [:]
        var securityByDomain: [UUID: SecurityConfig] = [:]
        var certificatesByDomain: [UUID: CertificateConfig] = [:]
        var answersByDomain: [UUID: [String: String]] = [:]
        if !ids.isEmpty {
            for rule in try await rows(PageRule.self, of: scope, \.$domain).sort(\.$position).all() {
                rulesByDomain[rule.$domain.id, default: []].append(rule)
            }
            for row in try await rows(DomainSecurity.self, of: scope, \.$domain).all() { securityByDomain[row.$domain.id] = row.config }
            for certificate in try await rows(DomainCertificate.self, of: scope, \.$domain).filter(\.$status == .issued).all() {
                guard let chain = certificate.chainPem, let sealed = certificate.keySealed, let key = secrets.open(sealed),
                    let names = certificate.names, let notAfter = certificate.notAfter
                else { continue }
                certificatesByDomain[certificate.$domain.id] = CertificateConfig(
                    names: names, chainPem: chain, keyPem: key, notAfter: notAfter)
            }
            for answer in try await rows(ACMEHTTPChallenge.self, of: scope, \.$domain).filter(\.$expiresAt > Date()).all() {
                answersByDomain[answer.$domain.id, default: [:]][answer.token] = answer.keyAuthorization
            }
        }
        let purgeQuery = PurgeRequest.query(on: store.db)
        if let since {
            purgeQuery.filter(\.$version > since)
        } else {
            purgeQuery.filter(\.$createdAt > Date().addingTimeInterval(-86_400))
        }
        let purges = try await purgeQuery.sort(\.$version).limit(PurgeCommand.retained).all().map {
            PurgeCommand(
                id: $0.version, domain: $0.domainName, everything: $0.everything, urls: $0.urls, prefixes: $0.prefixes, tags: $0.tags)
        }
        return EdgeConfig(
            domains: domains.map { domain in
                let id = domain.id!
                return EdgeDomainConfig(
                    id: id, name: domain.name, origin: domain.origin, sslMode: domain.sslMode.rawValue,
                    cacheLevel: domain.cacheLevel.rawValue,
                    browserTtl: domain.browserTTL, edgeTtl: domain.edgeTTL, devModeUntil: domain.devModeUntil,
                    underAttack: domain.underAttack,
                    records: Self.records((recordsByDomain[id] ?? []).filter(\.proxied)),
                    pageRules: (rulesByDomain[id] ?? []).map(CDNService.config),
                    certificate: certificatesByDomain[id], acmeChallenges: answersByDomain[id],
                    security: securityByDomain[id] ?? SecurityConfig())
            }, purges: purges,
            protection: ProtectionConfig(
                sanctionedCountries: settings.sanctionedCountries,
                clearanceKey: secrets.clearanceKey.withUnsafeBytes { Data($0) }.base64EncodedString(),
                challengeDifficulty: settings.challengeDifficulty))
    }

    static func records(_ records: [DomainRecord]) -> [DNSRecordConfig] {
        records.sorted { ($0.name, $0.type, $0.content) < ($1.name, $1.type, $1.content) }.map {
            DNSRecordConfig(name: $0.name, type: $0.type, content: $0.content, ttl: $0.ttl, priority: $0.priority, proxied: $0.proxied)
        }
    }

    static func info(_ node: Node) -> NodeInfo {
        NodeInfo(
            id: node.id!, name: node.name, roles: node.roles, region: node.region, country: node.country, latitude: node.latitude,
            longitude: node.longitude, ipv4: node.ipv4, ipv6: node.ipv6, healthy: node.healthy)
    }
}

/// Wakes every waiter at once; a waiter also wakes after its timeout or when cancelled.
final class ChangeSignal: Sendable {
    private struct State {
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<UUID> = []
    }
    private let state = Mutex(State())

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
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
