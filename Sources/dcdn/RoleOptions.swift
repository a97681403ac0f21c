import ArgumentParser
import DCDNCore
import EdgeNode
import Foundation
import HTTPCache
import NodeAgent
import NodeProtocol

/// The options every node role takes: the shared settings, the coordinator and this node's token.
struct RoleOptions: ParsableArguments {
    @OptionGroup var options: SettingsOptions
    @Option(help: "The coordinator's URL (also DCDN_COORDINATOR_URL).") var coordinatorURL: String?
    @Option(help: "This node's token (also DCDN_NODE_TOKEN).") var nodeToken: String?

    struct Setup {
        var process: ProcessSettings
        var node: NodeSettings
        /// The role reads its own section from here (`EdgeSettings`, `NameServerSettings`).
        var reader: SettingsReader

        /// Reads the role's section; a bad value stops the command naming its key.
        func read<Section>(_ section: (SettingsReader) throws -> Section) throws -> Section {
            do { return try section(reader) } catch let error as SettingsError { throw ValidationError(error.description) }
        }

        /// The node-API client's configuration; the registration carries the node.* overrides.
        func agent(role: String, stateFile: String) -> NodeAgent.Configuration {
            let registration = NodeRegistration(
                role: role, name: node.name, region: node.region, country: node.country, ipv4: node.ipv4, ipv6: node.ipv6)
            return .init(
                coordinatorURL: node.coordinatorURL, token: node.token, registration: registration,
                stateFile: process.dataDirectory + "/" + stateFile)
        }
    }

    func load() async throws -> Setup {
        var flags = options.values
        if let coordinatorURL { flags["coordinator_url"] = coordinatorURL }
        if let nodeToken { flags["node.token"] = nodeToken }
        let (reader, process) = try await SettingsOptions.loadNode(flags: flags)
        let node: NodeSettings
        do { node = try NodeSettings(reader) } catch let error as SettingsError { throw ValidationError(error.description) }
        try FileManager.default.createDirectory(atPath: process.dataDirectory, withIntermediateDirectories: true)
        return Setup(process: process, node: node, reader: reader)
    }
}

extension EdgeNodeRole.Options {
    /// The edge's options from its settings: the disk cache lives in data_dir/cache.
    static func edge(_ settings: EdgeSettings, host: String, dataDirectory: String, port: Int) -> Self {
        var limits = CacheStore.Limits()
        limits.memoryBytes = settings.cacheMemoryMB << 20
        limits.diskBytes = settings.cacheDiskMB << 20
        var options = Self(
            host: host, port: port, cacheDirectory: settings.cacheDiskMB > 0 ? dataDirectory + "/cache" : nil,
            cacheLimits: limits, originTimeout: settings.originTimeout, imagePrivateSources: settings.imagePrivateSources,
            httpsPort: settings.httpsPort, originCABundle: settings.originCABundle, protection: settings.protection)
        options.originPolicy = settings.originPolicy
        return options
    }
}
