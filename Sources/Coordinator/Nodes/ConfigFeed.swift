import DCDNCore
import FluentKit
import Foundation
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

    /// Everything (`since` nil, or older than what deltas can express) or what changed after `since`.
    public func snapshot(since: Int64?) async throws -> NodeConfigSnapshot {
        let db = store.db
        let version = try await currentVersion()
        let full = since == nil
        var query = Domain.query(on: db)
        if let since { query = query.filter(\.$configVersion > since) }
        let domains = try await query.sort(\.$name).all()
        let ids = domains.compactMap(\.id)
        var recordsByDomain: [UUID: [DomainRecord]] = [:]
        if !ids.isEmpty {
            let records = try await (full ? DomainRecord.query(on: db) : DomainRecord.query(on: db).filter(\.$domain.$id ~~ ids)).all()
            for record in records { recordsByDomain[record.$domain.id, default: []].append(record) }
        }
        // Platform-published TXT records (ACME DNS-01) travel with their zone's records.
        if !ids.isEmpty {
            let challenges = try await (full ? DNSChallenge.query(on: db) : DNSChallenge.query(on: db).filter(\.$domain.$id ~~ ids))
                .filter(\.$expiresAt > Date()).all()
            for challenge in challenges {
                let record = DomainRecord(
                    domainID: challenge.$domain.id, name: challenge.name, type: "TXT", content: challenge.value,
                    ttl: DomainService.challengeTTL,
                    priority: nil, proxied: false)
                recordsByDomain[challenge.$domain.id, default: []].append(record)
            }
        }
        var rulesByDomain: [UUID: [PageRule]] = [:]
        if !ids.isEmpty {
            let rules = try await (full ? PageRule.query(on: db) : PageRule.query(on: db).filter(\.$domain.$id ~~ ids)).sort(\.$position)
                .all()
            for rule in rules { rulesByDomain[rule.$domain.id, default: []].append(rule) }
        }
        var securityByDomain: [UUID: SecurityConfig] = [:]
        if !ids.isEmpty {
            let rows = try await (full ? DomainSecurity.query(on: db) : DomainSecurity.query(on: db).filter(\.$domain.$id ~~ ids)).all()
            for row in rows { securityByDomain[row.$domain.id] = row.config }
        }
        var certificatesByDomain: [UUID: CertificateConfig] = [:]
        var answersByDomain: [UUID: [String: String]] = [:]
        if !ids.isEmpty {
            let certificates = try await
                (full ? DomainCertificate.query(on: db) : DomainCertificate.query(on: db).filter(\.$domain.$id ~~ ids))
                .filter(\.$status == .issued).all()
            for certificate in certificates {
                guard let chain = certificate.chainPem, let sealed = certificate.keySealed, let key = secrets.open(sealed),
                    let names = certificate.names, let notAfter = certificate.notAfter
                else { continue }
                certificatesByDomain[certificate.$domain.id] = CertificateConfig(
                    names: names, chainPem: chain, keyPem: key, notAfter: notAfter)
            }
            let answers = try await (full ? ACMEHTTPChallenge.query(on: db) : ACMEHTTPChallenge.query(on: db).filter(\.$domain.$id ~~ ids))
                .filter(\.$expiresAt > Date()).all()
            for answer in answers { answersByDomain[answer.$domain.id, default: [:]][answer.token] = answer.keyAuthorization }
        }
        let purgeQuery = PurgeRequest.query(on: db)
        if let since {
            purgeQuery.filter(\.$version > since)
        } else {
            purgeQuery.filter(\.$createdAt > Date().addingTimeInterval(-86_400))
        }
        let purges = try await purgeQuery.sort(\.$version).limit(PurgeCommand.retained).all().map {
            PurgeCommand(
                id: $0.version, domain: $0.domainName, everything: $0.everything, urls: $0.urls, prefixes: $0.prefixes, tags: $0.tags)
        }
        let removed = since.map { since in DomainTombstone.query(on: db).filter(\.$version > since) }
        let removedIDs = try await removed?.all().map(\.domainID) ?? []
        let nodes = try await Node.query(on: db).sort(\.$name).all()
        return NodeConfigSnapshot(
            version: version, full: full,
            domains: domains.map { domain in
                var config = Self.config(domain, records: recordsByDomain[domain.id!] ?? [], rules: rulesByDomain[domain.id!] ?? [])
                config.certificate = certificatesByDomain[domain.id!]
                config.acmeChallenges = answersByDomain[domain.id!]
                config.security = securityByDomain[domain.id!] ?? SecurityConfig()
                return config
            },
            removedDomains: removedIDs, nodes: nodes.map(Self.info), nameservers: settings.nameservers, hostmaster: settings.hostmaster,
            purges: purges,
            protection: ProtectionConfig(
                sanctionedCountries: settings.sanctionedCountries,
                clearanceKey: secrets.clearanceKey.withUnsafeBytes { Data($0) }.base64EncodedString(),
                challengeDifficulty: settings.challengeDifficulty))
    }

    static func config(_ domain: Domain, records: [DomainRecord], rules: [PageRule]) -> DomainConfig {
        DomainConfig(
            id: domain.id!, name: domain.name, serial: domain.serial, origin: domain.origin, sslMode: domain.sslMode.rawValue,
            cacheLevel: domain.cacheLevel.rawValue, browserTtl: domain.browserTTL, edgeTtl: domain.edgeTTL,
            devModeUntil: domain.devModeUntil,
            underAttack: domain.underAttack, multiNodeRedundancy: domain.multiNodeRedundancy, dnsFallback: domain.dnsFallback,
            records: records.sorted { ($0.name, $0.type, $0.content) < ($1.name, $1.type, $1.content) }.map {
                DNSRecordConfig(name: $0.name, type: $0.type, content: $0.content, ttl: $0.ttl, priority: $0.priority, proxied: $0.proxied)
            }, pageRules: rules.map(CDNService.config))
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
