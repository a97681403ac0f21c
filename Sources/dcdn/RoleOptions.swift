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
        var settings: DCDNSettings
        var coordinatorURL: String
        var token: String

        /// The node-API client's configuration; the registration carries the node_* overrides.
        func agent(role: String, stateFile: String) -> NodeAgent.Configuration {
            let registration = NodeRegistration(
                role: role, name: settings.nodeName, region: settings.nodeRegion, country: settings.nodeCountry, ipv4: settings.nodeIPv4,
                ipv6: settings.nodeIPv6)
            return .init(
                coordinatorURL: coordinatorURL, token: token, registration: registration,
                stateFile: settings.dataDirectory + "/" + stateFile)
        }
    }

    func load() async throws -> Setup {
        var flags = options.values
        if let coordinatorURL { flags["coordinator_url"] = coordinatorURL }
        if let nodeToken { flags["node_token"] = nodeToken }
        let settings = try await SettingsOptions.load(role: .coordinator, flags: flags)
        guard let url = settings.coordinatorURL else { throw ValidationError("--coordinator-url (or DCDN_COORDINATOR_URL) is required") }
        guard let token = settings.nodeToken else { throw ValidationError("--node-token (or DCDN_NODE_TOKEN) is required") }
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        return Setup(settings: settings, coordinatorURL: url, token: token)
    }
}

extension EdgeNodeRole.Options {
    /// The edge's options from the settings: the disk cache lives in data_dir/cache.
    static func edge(_ settings: DCDNSettings, port: Int) -> Self {
        var limits = CacheStore.Limits()
        limits.memoryBytes = settings.cacheMemoryMB << 20
        limits.diskBytes = settings.cacheDiskMB << 20
        return .init(
            host: settings.host, port: port, cacheDirectory: settings.cacheDiskMB > 0 ? settings.dataDirectory + "/cache" : nil,
            cacheLimits: limits, originTimeout: settings.originTimeout, imagePrivateSources: settings.imagePrivateSources,
            httpsPort: settings.httpsPort, originCABundle: settings.originCABundle, protection: settings.edgeProtection)
    }
}
