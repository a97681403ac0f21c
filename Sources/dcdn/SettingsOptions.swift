import ArgumentParser
import DCDNCore
import Logging

/// Flags shared by the commands; each is also `DCDN_<NAME>` in the environment and `<name>` in
/// the JSON config file (see docs/configuration.md). Flags win over both.
struct SettingsOptions: ParsableArguments {
    @Option(help: "JSON config file (also DCDN_CONFIG).") var config: String?
    @Option(help: "Directory for the SQLite database, keys and caches.") var dataDir: String?
    @Option(help: "postgres://user:pass@host/db (also DATABASE_URL). SQLite in the data dir when unset.") var databaseURL: String?
    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "Coordinator API and dashboard port (0 = any free port).") var apiPort: String?
    @Option(help: "Edge HTTP port for the edge role (edge.http_port; 0 = any free port).") var httpPort: String?
    @Option(help: "Edge HTTPS port for the edge role (edge.https_port; 0 = any free port).") var httpsPort: String?
    @Option(help: "DNS port for the nameserver role (dns.port; 0 = any free port).") var dnsPort: String?
    @Option(help: "Public URL of the coordinator, used in links and OpenID Connect redirects.") var publicURL: String?
    @Option(help: "Log format: text or json.") var logFormat: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String?

    /// The given flags by configuration key.
    var values: [String: String] {
        var values: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("config", config), ("data_dir", dataDir), ("database_url", databaseURL), ("host", host), ("api_port", apiPort),
            ("edge.http_port", httpPort), ("edge.https_port", httpsPort), ("dns.port", dnsPort),
            ("public_url", publicURL), ("log_format", logFormat), ("log_level", logLevel),
        ]
        for case let (key, value?) in pairs { values[key] = value }
        return values
    }

    func load(role: DCDNSettings.Role) async throws -> DCDNSettings {
        try await Self.load(role: role, flags: values)
    }

    static func load(role: DCDNSettings.Role, flags: [String: String]) async throws -> DCDNSettings {
        do {
            let settings = try await DCDNSettings.load(role: role, flags: flags)
            LoggingSystem.bootstrapDCDN(format: settings.logFormat, level: settings.logLevel)
            return settings
        } catch let error as SettingsError {
            throw ValidationError(error.description)
        }
    }

    /// For a node's role: the reader of its sections and the settings every process has; the
    /// coordinator's settings are not read.
    static func loadNode(flags: [String: String]) async throws -> (SettingsReader, ProcessSettings) {
        do {
            let reader = try await SettingsReader.load(flags: flags)
            let process = try ProcessSettings(reader, dev: false)
            LoggingSystem.bootstrapDCDN(format: process.logFormat, level: process.logLevel)
            return (reader, process)
        } catch let error as SettingsError {
            throw ValidationError(error.description)
        }
    }
}
