import ArgumentParser
import Foundation

@main
struct DCDN: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dcdn",
        abstract: "DCDN: a self-hostable, decentralized CDN and cloud platform.",
        discussion:
            "One binary, one subcommand per role. Start with `dcdn dev`: the whole platform on this machine with an embedded database. Every flag is also a DCDN_* environment variable and a key of the JSON config file; see docs/configuration.md.",
        subcommands: [
            Dev.self, CoordinatorCommand.self, NodeCommand.self, DNSCommand.self, Database.self, Admin.self, GeoIPCommand.self,
        ])
}
