import DCDNCore
import DNSKit
import FluentKit
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Marks pending domains active once the world's DNS delegates them to DCDN's nameservers.
struct DelegationCheck {
    let logger: Logger
    let settings: DCDNSettings
    let store: DatabaseStore

    /// Checks each pending domain not checked in the last half interval. One item per domain
    /// and last check, so that of several replicas one asks the resolver.
    func run(round: JobRound? = nil, now: Date = Date()) async throws {
        let recent = now.addingTimeInterval(-Double(settings.delegationCheckSeconds) / 2)
        let pending = try await Domain.query(on: store.db).filter(\.$status == .pending)
            .group(.or) { $0.filter(\.$delegationCheckedAt == nil).filter(\.$delegationCheckedAt < recent) }
            .limit(500).all()
        guard !pending.isEmpty else { return }
        let resolver = try resolverAddress()
        let ours = try await NameserverSet.load(settings, on: store.db)
        for listed in pending {
            try await round.run("\(listed.id!):\(listed.delegationCheckedAt.map(JobClaims.millis) ?? 0)") {
                guard let domain = try await Domain.find(listed.id, on: store.db), domain.status == .pending,
                    domain.delegationCheckedAt == listed.delegationCheckedAt
                else { return }
                let servers = (try? await nameservers(of: domain.name, resolver: resolver)) ?? []
                domain.delegationCheckedAt = Date()
                if !servers.isEmpty, Set(servers).isSubset(of: ours.names(dnsFallback: domain.dnsFallback)) {
                    domain.status = .active
                    domain.activatedAt = Date()
                    logger.info("domain delegated to DCDN", metadata: ["domain": "\(domain.name)"])
                }
                try await domain.save(on: store.db)
            }
        }
    }

    func resolverAddress() throws -> SocketAddress {
        if let configured = settings.delegationResolver { return try SocketAddress(dnsServer: configured) }
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
