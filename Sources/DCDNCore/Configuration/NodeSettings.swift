import Foundation
import Logging

/// What every process reads, whatever its role: where its data lives, the address it listens
/// on, and how it logs.
public struct ProcessSettings: Sendable {
    public var dataDirectory: String
    public var host: String
    public var logFormat: LogFormat
    public var logLevel: Logger.Level

    public init(_ settings: SettingsReader, dev: Bool) throws {
        dataDirectory = settings.string("data_dir") ?? (dev ? "./.dcdn" : "/var/lib/dcdn")
        host = settings.string("host") ?? (dev ? "127.0.0.1" : "0.0.0.0")
        guard let format = LogFormat(rawValue: settings.string("log_format") ?? "text") else {
            throw SettingsError(key: "log_format", message: "must be text or json")
        }
        logFormat = format
        guard let level = Logger.Level(rawValue: settings.string("log_level") ?? "info") else {
            throw SettingsError(key: "log_level", message: "must be trace, debug, info, notice, warning, error or critical")
        }
        logLevel = level
    }
}

/// What a node (`dcdn node`, `dcdn dns`) reads to reach the coordinator: `coordinator_url` and
/// its `node.*` section (`DCDN_NODE_TOKEN`, `{"node": {"token": …}}`).
public struct NodeSettings: Sendable {
    public var coordinatorURL: String
    public var token: String
    /// Override what the admin entered; sent when the node registers.
    public var name: String?
    public var region: String?
    public var country: String?
    public var ipv4: String?
    public var ipv6: String?

    public init(_ settings: SettingsReader) throws {
        guard let url = settings.string("coordinator_url") else {
            throw SettingsError(key: "coordinator_url", message: "is required (--coordinator-url or DCDN_COORDINATOR_URL)")
        }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme), parsed.host != nil else {
            throw SettingsError(key: "coordinator_url", message: "must be an http(s) URL")
        }
        let node = settings.scoped(to: "node")
        guard let token = node.string("token", secret: true) else {
            throw SettingsError(key: "node.token", message: "is required (--node-token or DCDN_NODE_TOKEN)")
        }
        coordinatorURL = url
        self.token = token
        name = node.string("name")
        region = node.string("region")
        country = node.string("country")
        ipv4 = node.string("ipv4")
        ipv6 = node.string("ipv6")
    }
}
