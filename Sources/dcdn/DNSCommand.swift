import ArgumentParser
import DCDNCore
import DNSKit
import Foundation
import Logging
import NameServer

struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Run an authoritative GeoDNS nameserver that syncs zones from the coordinator.",
        discussion:
            "Needs the coordinator's URL and this node's token (Admin → Nodes). Keeps serving its last synced zones when the coordinator is unreachable. Zone transfers to secondaries need DCDN_DNS_TRANSFER_KEY; DCDN_DNS_NOTIFY lists secondaries to notify."
    )

    @OptionGroup var role: RoleOptions

    func run() async throws {
        let setup = try await role.load()
        var settings = try setup.read { try NameServerSettings($0, dev: false) }
        var key: TSIGKey?
        if let text = settings.transferKey {
            guard let parsed = TSIGKey(text) else {
                throw ValidationError("configuration dns.transfer_key: must be name:base64secret with at least 16 bytes")
            }
            key = parsed
        }
        let host = setup.process.host
        if settings.port == 0 { settings.port = try FreePort.pick(host: host) }
        let logger = Logger(label: "dcdn.dns")
        let nameserver = try NameServerRole(
            options: .init(
                host: host, port: settings.port, agent: setup.agent(role: "dns", stateFile: "dns-config.json"), transferKey: key,
                notify: settings.notify),
            logger: logger)
        try await runUntilSignalled([nameserver], logger: logger)
    }
}
