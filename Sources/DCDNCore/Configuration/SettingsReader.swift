import Configuration
import Foundation
import SystemPackage

/// Typed reads of the configuration with the precedence flags > `DCDN_*` environment variables >
/// JSON config file > defaults (swift-configuration). A role reads its own section through
/// `scoped(to:)`: the edge's keys are `edge.*` (`DCDN_EDGE_*`, `{"edge": {…}}` in the file), the
/// nameserver's `dns.*`, a node's identity `node.*`; so a node never reads, or fails on, the
/// coordinator's settings. `docs/configuration.md` lists every key.
public struct SettingsReader: Sendable {
    let config: ConfigReader
    /// The section's path, for messages (`edge.`; empty at the top).
    let path: String

    init(_ config: ConfigReader, path: String = "") {
        self.config = config
        self.path = path
    }

    /// The reader of one section: `scoped(to: "edge").string("http_port")` reads `edge.http_port`.
    public func scoped(to section: String) -> SettingsReader {
        SettingsReader(config.scoped(to: ConfigKey(section)), path: path + section + ".")
    }

    /// The full key of a key of this section, as messages name it.
    public func key(_ key: String) -> String { path + key }

    /// Reads flags, the environment and the config file (`flags["config"]` or `DCDN_CONFIG`).
    /// Flag keys may name a section with a dot (`edge.http_port`).
    public static func load(flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment)
        async throws -> SettingsReader
    {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(
                    uniqueKeysWithValues: flags.map {
                        (AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)), ConfigValue(.string($0.value), isSecret: false))
                    })),
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "dcdn"),
        ]
        // The database URL may also come from the conventional DATABASE_URL.
        providers.append(EnvironmentVariablesProvider(environmentVariables: environment.filter { $0.key == "DATABASE_URL" }))
        if let path = flags["config"] ?? environment["DCDN_CONFIG"] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw SettingsError(key: "config", message: "config file \(path) does not exist")
            }
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw SettingsError(key: "config", message: "config file \(path) is not valid JSON: \(error)")
            }
        }
        return SettingsReader(ConfigReader(providers: providers))
    }

    /// Values by key (dotted for sections), for tests and embedding.
    public static func values(_ values: [String: String]) -> SettingsReader {
        SettingsReader(
            ConfigReader(
                provider: InMemoryProvider(
                    values: Dictionary(
                        uniqueKeysWithValues: values.map {
                            (
                                AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)),
                                ConfigValue(.string($0.value), isSecret: false)
                            )
                        }))))
    }

    /// Whether `key` is set to the empty string: for settings where empty means "off" rather
    /// than "the default".
    public func isEmpty(_ key: String) -> Bool {
        config.string(forKey: ConfigKey(key)) == ""
    }

    /// The value as text, or nil when unset or empty. Values come as strings from flags and the
    /// environment but as numbers or booleans from a JSON file: either is accepted.
    public func string(_ key: String, secret: Bool = false) -> String? {
        if let value = config.string(forKey: ConfigKey(key), isSecret: secret), !value.isEmpty { return value }
        if let value = config.int(forKey: ConfigKey(key)) { return String(value) }
        if let value = config.bool(forKey: ConfigKey(key)) { return String(value) }
        if let value = config.double(forKey: ConfigKey(key)) { return String(value) }
        return nil
    }

    /// A whole number in `range`, or `fallback` when unset; anything else throws naming the key.
    public func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
        guard let text = string(key) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw SettingsError(key: self.key(key), message: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// Comma-separated items, trimmed, empty ones dropped.
    public func list(_ key: String) -> [String] {
        (string(key) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `true`, `1` or `on` is true; any other value (`false`, `0`, `off`) false; nil when unset.
    public func flag(_ key: String) -> Bool? {
        string(key).map { ["true", "1", "on"].contains($0.lowercased()) }
    }
}
