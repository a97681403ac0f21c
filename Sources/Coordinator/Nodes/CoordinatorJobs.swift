import DCDNCore
import DNSKit
import FluentKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Runs `body` every `interval` until shutdown; a failing run is logged and retried next time.
/// Jobs are idempotent, so replicas running them concurrently do no harm.
struct PeriodicJob: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let body: @Sendable () async throws -> Void

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await body()
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

extension Coordinator {
    /// The coordinator's background jobs.
    public func jobs() -> [any Service] {
        [
            PeriodicJob(name: "expired credentials", interval: .seconds(3600), logger: logger) { [store] in
                try await ExpiredCredentialsJob(store: store).runOnce()
            },
            PeriodicJob(name: "credit expiry", interval: .seconds(60), logger: logger) { [ledger] in try await ledger.expireDue() },
            PeriodicJob(name: "plan renewals", interval: .seconds(60), logger: logger) { [billing] in try await billing.renewDue() },
            PeriodicJob(name: "node health", interval: .seconds(2), logger: logger) { [nodes] in try await nodes.expireSilentNodes() },
            LongPollDrain(feed: feed),
            PeriodicJob(name: "certificates", interval: .seconds(5), logger: logger) { [certificates] in try await certificates.runDue() },
            PeriodicJob(name: "delegation check", interval: .seconds(Int64(settings.delegationCheckSeconds)), logger: logger) { [self] in
                try await DelegationCheck(coordinator: self).run()
            },
        ]
    }
}

/// Marks pending domains active once the world's DNS delegates them to DCDN's nameservers.
struct DelegationCheck {
    let coordinator: Coordinator

    func run() async throws {
        let pending = try await Domain.query(on: coordinator.store.db).filter(\.$status == .pending).limit(500).all()
        guard !pending.isEmpty else { return }
        let resolver = try resolverAddress()
        let ours = Set(coordinator.settings.nameservers)
        for domain in pending {
            let servers = (try? await nameservers(of: domain.name, resolver: resolver)) ?? []
            domain.delegationCheckedAt = Date()
            if !servers.isEmpty, Set(servers).isSubset(of: ours) {
                domain.status = .active
                domain.activatedAt = Date()
                coordinator.logger.info("domain delegated to DCDN", metadata: ["domain": "\(domain.name)"])
            }
            try await domain.save(on: coordinator.store.db)
        }
    }

    func resolverAddress() throws -> SocketAddress {
        if let configured = coordinator.settings.delegationResolver { return try SocketAddress(dnsServer: configured) }
        let conf = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        let server =
            conf.split(separator: "\n").first { $0.hasPrefix("nameserver") }?.split(separator: " ").last.map(String.init) ?? "127.0.0.1"
        return try SocketAddress(ipAddress: server, port: 53)
    }

    /// The NS names a resolver gives for `name` (lower case, no final dot).
    func nameservers(of name: String, resolver: SocketAddress) async throws -> [String] {
        var query = DNSMessage(id: UInt16.random(in: 0...UInt16.max))
        query.recursionDesired = true
        query.questions = [DNSQuestion(name: DNSName(name)!, type: .ns)]
        let reply = try await DNSClient.query(query, server: resolver, timeout: .seconds(3))
        return (reply.answers + reply.authorities).compactMap { record in
            if case .ns(let target) = record.data, record.name == DNSName(name)! { return target.key }
            return nil
        }
    }
}

/// On graceful shutdown, releases the node API's long polls so the HTTP server can drain
/// instead of waiting up to a minute for them.
struct LongPollDrain: Service {
    let feed: ConfigFeed

    func run() async throws {
        try? await gracefulShutdown()
        feed.stopWaiting()
    }
}
