import ArgumentParser
import DCDNCore
import EdgeNode
import Foundation
import Logging

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run an edge node: the reverse proxy in front of customers' origins, synced from the coordinator.",
        discussion:
            "Needs the coordinator's URL and this node's token (Admin → Nodes). Keeps serving its last synced configuration when the coordinator is unreachable."
    )

    @OptionGroup var role: RoleOptions

    func run() async throws {
        let setup = try await role.load()
        var settings = try setup.read { try EdgeSettings($0, dev: false) }
        let host = setup.process.host
        if settings.httpPort == 0 { settings.httpPort = try FreePort.pick(host: host) }
        if settings.httpsPort == 0 { settings.httpsPort = try FreePort.pick(host: host) }
        let logger = Logger(label: "dcdn.edge")
        let edge = try EdgeNodeRole(
            options: .edge(settings, host: host, dataDirectory: setup.process.dataDirectory, port: settings.httpPort),
            agent: setup.agent(role: "edge", stateFile: "edge-config.json"), logger: logger)
        try await runUntilSignalled([edge], logger: logger)
    }
}
