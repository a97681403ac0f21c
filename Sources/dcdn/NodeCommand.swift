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
        var setup = try await role.load()
        if setup.settings.httpPort == 0 { setup.settings.httpPort = try FreePort.pick(host: setup.settings.host) }
        if setup.settings.httpsPort == 0 { setup.settings.httpsPort = try FreePort.pick(host: setup.settings.host) }
        let logger = Logger(label: "dcdn.edge")
        let edge = try EdgeNodeRole(
            options: .edge(setup.settings, port: setup.settings.httpPort), agent: setup.agent(role: "edge", stateFile: "edge-config.json"),
            logger: logger)
        try await runUntilSignalled([edge], logger: logger)
    }
}
