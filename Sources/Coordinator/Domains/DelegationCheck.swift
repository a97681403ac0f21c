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

    func run() async throws {
        let pending = try await Domain.query(on: store.db).filter(\.$status == .pending).limit(500).all()
        guard !pending.isEmpty else { return }
        let resolver = try resolverAddress()
        let ours = Set(settings.nameservers)
        for domain in pending {
            let servers = (try? await nameservers(of: domain.name, resolver: resolver)) ?? []
            domain.delegationCheckedAt = Date()
            if !servers.isEmpty, Set(servers).isSubset(of: ours) {
                domain.status = .active
                domain.activatedAt = Date()
                logger.info("domain delegated to DCDN", metadata: ["domain": "\(domain.name)"])
            }
            try await domain.save(on: store.db)
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
