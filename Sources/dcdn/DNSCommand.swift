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
        var setup = try await role.load()
        var key: TSIGKey?
        if let text = setup.settings.dnsTransferKey {
            guard let parsed = TSIGKey(text) else {
                throw ValidationError("dns_transfer_key must be name:base64secret with at least 16 bytes")
            }
            key = parsed
        }
        if setup.settings.dnsPort == 0 { setup.settings.dnsPort = try FreePort.pick(host: setup.settings.host) }
        let logger = Logger(label: "dcdn.dns")
        let nameserver = try NameServerRole(
            options: .init(
                host: setup.settings.host, port: setup.settings.dnsPort, agent: setup.agent(role: "dns", stateFile: "dns-config.json"),
                transferKey: key, notify: setup.settings.dnsNotify),
            logger: logger)
        try await runUntilSignalled([nameserver], logger: logger)
    }
}
