import ArgumentParser
import Coordinator
import DCDNCore
import DNSKit
import EdgeNode
import Foundation
import GeoIP
import Logging
import NameServer
import NodeAgent
import ServiceLifecycle

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

struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole platform on this machine (loopback only, SQLite in ./.dcdn, mail kept in an outbox).")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        var settings = try await options.load(role: .dev)
        if settings.apiPort == 0 { settings.apiPort = try FreePort.pick(host: settings.host) }
        let logger = Logger(label: "dcdn.dev")
        let publicURL = settings.publicURL ?? "http://\(settings.host):\(settings.apiPort)"
        let dataDirectory = settings.dataDirectory
        if settings.dnsPort == 0 { settings.dnsPort = try FreePort.pick(host: settings.host) }
        let dnsPort = settings.dnsPort
        if settings.httpPort == 0 { settings.httpPort = try FreePort.pick(host: settings.host) }
        let httpPort = settings.httpPort
        if settings.httpsPort == 0 { settings.httpsPort = try FreePort.pick(host: settings.host) }
        let httpsPort = settings.httpsPort
        // The demo site's images can be optimised on a fresh install: its name is pinned to this edge.
        if settings.imagePrivateSources[DemoSite.name] == nil {
            settings.imagePrivateSources[DemoSite.name] = "\(settings.host == "0.0.0.0" ? "127.0.0.1" : settings.host):\(httpPort)"
        }
        // In dev the world's DNS is this machine's nameserver, so delegation is observed there.
        if settings.delegationResolver == nil { settings.delegationResolver = "\(settings.host):\(dnsPort)" }
        let host = settings.host
        try await withCoordinator(settings: settings, publicURL: publicURL, logger: logger) { coordinator in
            let admin = try await DevAdmin.ensure(settings: settings, accounts: coordinator.accounts)
            // The roles of dev talk to the coordinator over loopback HTTP with a node token, as in production.
            let token = try await DevNode.ensure(coordinator: coordinator, host: settings.host)
            let demoPort = try FreePort.pick(host: "127.0.0.1")
            try await DemoSite.ensure(coordinator: coordinator, admin: admin.email, originPort: demoPort)
            let demoOrigin = DemoSite.origin(port: demoPort, logger: Logger(label: "dcdn.demo-origin"))
            let nameserver = try NameServerRole(
                options: .init(
                    host: settings.host, port: dnsPort,
                    agent: .init(
                        coordinatorURL: publicURL, token: token, registration: NodeRegistration(role: "dns"),
                        stateFile: dataDirectory + "/dns-config.json"),
                    transferKey: settings.dnsTransferKey.flatMap(TSIGKey.init), notify: settings.dnsNotify),
                logger: Logger(label: "dcdn.dns"))
            let edge = try EdgeNodeRole(
                options: .edge(settings, port: httpPort),
                agent: .init(
                    coordinatorURL: publicURL, token: token, registration: NodeRegistration(role: "edge"),
                    stateFile: dataDirectory + "/edge-config.json"),
                logger: Logger(label: "dcdn.edge"))
            let app = buildApplication(coordinator, host: settings.host, port: settings.apiPort) { _ in
                // Written unbuffered: scripts wait for the "listening" line on a pipe.
                let banner = """

                    DCDN dev is running.
                      Dashboard    \(publicURL)/dashboard
                      API          \(publicURL)/api/v1  (OpenAPI: \(publicURL)/api/v1/openapi.json)
                      Dev outbox   \(publicURL)/dashboard/outbox  (verification mail lands here)
                      DNS          \(host):\(dnsPort) UDP+TCP  (dig @\(host) -p \(dnsPort) <your domain>)
                      Edge HTTP    \(host):\(httpPort)  (curl -i -H 'Host: \(DemoSite.name)' http://\(host):\(httpPort)/)
                      Edge HTTPS   \(host):\(httpsPort)  (curl --cacert \(dataDirectory)/dev-ca.pem --resolve \(DemoSite.name):\(httpsPort):\(host) https://\(DemoSite.name):\(httpsPort)/)
                      Admin login  \(admin.email)  password: \(admin.password)
                      Data         \(dataDirectory)
                    coordinator listening on \(publicURL)

                    """
                FileHandle.standardOutput.write(Data((banner + "\n").utf8))
            }
            try await runUntilSignalled([app, nameserver, edge, demoOrigin] + coordinator.jobs(), logger: logger)
        }
    }
}

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator", abstract: "Run the control plane: API, dashboard, node API and background jobs.")

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        var settings = try await options.load(role: .coordinator)
        if settings.apiPort == 0 { settings.apiPort = try FreePort.pick(host: settings.host) }
        let logger = Logger(label: "dcdn.coordinator")
        let publicURL = settings.publicURL ?? "http://\(settings.host == "0.0.0.0" ? "127.0.0.1" : settings.host):\(settings.apiPort)"
        if settings.publicURL == nil {
            logger.warning("no public URL configured; links in mail will use \(publicURL) (set DCDN_PUBLIC_URL)")
        }
        try await withCoordinator(settings: settings, publicURL: publicURL, logger: logger) { coordinator in
            let (host, port) = (settings.host, settings.apiPort)
            let app = buildApplication(coordinator, host: host, port: port) { _ in
                logger.info("coordinator listening on \(host):\(port), public URL \(publicURL)")
            }
            try await runUntilSignalled([app] + coordinator.jobs(), logger: logger)
        }
    }
}

/// Builds the coordinator, migrates, runs `body`, and always closes the database — also when
/// start-up fails, so the error is reported instead of a crash in a pool's deinit.
func withCoordinator(
    settings: DCDNSettings, publicURL: String, logger: Logger, _ body: (Coordinator) async throws -> Void
) async throws {
    let coordinator = try await Coordinator(settings: settings, publicURL: publicURL, logger: logger)
    do {
        try await coordinator.store.migrate()
        try await body(coordinator)
    } catch let error as APIError {
        await coordinator.store.shutdown()
        throw ValidationError(error.detail)
    } catch {
        await coordinator.store.shutdown()
        throw error
    }
    await coordinator.store.shutdown()
}

/// Runs the role's services until SIGTERM or SIGINT and lets them drain.
func runUntilSignalled(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    logger.info("stopped cleanly")
}

struct Database: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Database maintenance.", subcommands: [Migrate.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bring the database schema up to date (also done at start-up).")
        @OptionGroup var options: SettingsOptions
        @Flag(help: "Only list the migrations that would run.") var dryRun = false

        func run() async throws {
            let settings = try await options.load(role: .tool)
            let store = try DatabaseStore(settings: settings, logger: Logger(label: "dcdn.db"))
            do {
                let pending = try await store.pendingMigrations()
                if dryRun {
                    print(
                        pending.isEmpty
                            ? "The schema is up to date." : "Pending migrations:\n" + pending.map { "  \($0)" }.joined(separator: "\n"))
                } else {
                    try await store.migrate()
                    print(
                        pending.isEmpty
                            ? "The schema was already up to date."
                            : "Applied \(pending.count) migration(s): \(pending.joined(separator: ", "))")
                }
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
        }
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operator tasks.", subcommands: [CreateUser.self, ImportCertificate.self, VerifyLedger.self, BenchLedger.self])

    struct VerifyLedger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-ledger",
            abstract: "Check every credit account's invariants; exits 1 and lists the problems when one fails.")
        @OptionGroup var options: SettingsOptions

        func run() async throws {
            let settings = try await options.load(role: .tool)
            try await withCoordinator(
                settings: settings, publicURL: settings.publicURL ?? "http://localhost", logger: Logger(label: "dcdn.admin")
            ) {
                coordinator in
                let report = try await LedgerAudit(store: coordinator.store).run()
                print(
                    "\(report.accounts) accounts, \(report.transactions) transactions, \(Credits(micro: report.totalBalance)) credits outstanding."
                )
                for problem in report.problems { print("PROBLEM \(problem)") }
                guard report.isConsistent else { throw ExitCode(1) }
                print("Ledger consistent: balances = grants' remaining = sum of transactions; none negative; promo uses within limits.")
            }
        }
    }

    struct BenchLedger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-ledger",
            abstract: "Measure credit spends per second with concurrent clients on the configured database (scripts/bench/ledger.sh).")
        @OptionGroup var options: SettingsOptions
        @Option(help: "Concurrent clients.") var clients: Int = 32
        @Option(help: "Accounts spent from (fewer means more contention).") var accounts: Int = 64
        @Option(help: "Seconds to run.") var seconds: Int = 10
        @Flag(help: "Confirm that benchmark users and credits may be written into this database.") var yes = false

        func run() async throws {
            guard yes else {
                throw ValidationError("bench-ledger writes benchmark users and credits: use a scratch database and pass --yes")
            }
            guard (1...1000).contains(clients), (1...100_000).contains(accounts), (1...3600).contains(seconds) else {
                throw ValidationError("--clients 1…1000, --accounts 1…100000, --seconds 1…3600")
            }
            let settings = try await options.load(role: .tool)
            try await withCoordinator(
                settings: settings, publicURL: settings.publicURL ?? "http://localhost", logger: Logger(label: "dcdn.bench")
            ) {
                coordinator in
                let result = try await LedgerBenchmark(coordinator: coordinator, clients: clients, accounts: accounts, seconds: seconds)
                    .run()
                print(
                    "spends=\(result.spends) seconds=\(String(format: "%.2f", result.seconds)) spends_per_second=\(Int(Double(result.spends) / result.seconds)) refused=\(result.refused)"
                )
            }
        }
    }

    struct ImportCertificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-certificate", abstract: "Serve your own certificate for a domain (not renewed by DCDN).")
        @OptionGroup var options: SettingsOptions
        @Option(help: "The domain, e.g. example.com.") var domain: String
        @Option(help: "PEM file: the certificate chain, leaf first.") var chain: String
        @Option(help: "PEM file: its private key.") var key: String

        func run() async throws {
            let settings = try await options.load(role: .tool)
            let chainPEM = try String(contentsOfFile: chain, encoding: .utf8)
            let keyPEM = try String(contentsOfFile: key, encoding: .utf8)
            try await withCoordinator(
                settings: settings, publicURL: settings.publicURL ?? "http://localhost", logger: Logger(label: "dcdn.admin")
            ) {
                coordinator in
                do {
                    let imported = try await coordinator.certificates.importCertificate(
                        domainName: domain, chainPEM: chainPEM, keyPEM: keyPEM)
                    print("\(domain): serving \(imported.names.joined(separator: ", ")) until \(imported.notAfter).")
                } catch let error as APIError {
                    throw ValidationError(error.detail)
                }
            }
        }
    }

    struct CreateUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-user", abstract: "Create a verified account, or reset its password and role if it exists.")
        @OptionGroup var options: SettingsOptions
        @Option(help: "Email address.") var email: String
        @Option(help: "Password (at least 10 characters).") var password: String
        @Option(help: "user, reseller or admin.") var role: String = "user"

        func run() async throws {
            guard let role = User.Role(rawValue: role) else { throw ValidationError("--role must be user, reseller or admin") }
            let settings = try await options.load(role: .tool)
            let logger = Logger(label: "dcdn.admin")
            try await withCoordinator(settings: settings, publicURL: settings.publicURL ?? "http://localhost", logger: logger) {
                coordinator in
                let user = try await coordinator.accounts.upsertUser(email: email, password: password, role: role)
                print("\(user.email) is a verified \(role.rawValue) (id \(user.id!)).")
            }
        }
    }
}

/// The admin account `dcdn dev` creates and prints. DCDN_ADMIN_EMAIL / DCDN_ADMIN_PASSWORD choose
/// it; otherwise a generated password is kept in the data directory so restarts print the same.
enum DevAdmin {
    static func ensure(settings: DCDNSettings, accounts: AccountService) async throws -> (email: String, password: String) {
        let email = settings.adminEmail ?? "admin@dcdn.test"
        let path = settings.dataDirectory + "/admin-password"
        let password: String
        if let configured = settings.adminPassword {
            password = configured
        } else if let saved = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
            !saved.isEmpty
        {
            password = saved
        } else {
            let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            password = String((0..<16).map { _ in alphabet.randomElement()! })
            FileManager.default.createFile(atPath: path, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
        }
        do {
            try await accounts.upsertUser(email: email, password: password, role: .admin)
        } catch let error as APIError {
            throw ValidationError("admin account \(email): \(error.detail)")
        }
        return (email, password)
    }
}

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

/// The machine `dcdn dev` runs on, registered as an edge and DNS node on loopback.
enum DevNode {
    static func ensure(coordinator: Coordinator, host: String) async throws -> String {
        if let existing = try await coordinator.nodes.list().first(where: { $0.name == "dev-local" }) {
            return try await coordinator.nodes.rotateToken(existing.id!).1
        }
        var draft = NodeService.Draft()
        draft.name = "dev-local"
        draft.roles = ["edge", "dns"]
        draft.region = "local"
        draft.country = "ZZ"
        draft.ipv4 = host == "0.0.0.0" ? "127.0.0.1" : host
        return try await coordinator.nodes.create(draft).1
    }
}

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

/// `dcdn geoip`: the country edges see for addresses, from the same data files; `--bench N`
/// times N lookups of random addresses.
struct GeoIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geoip", abstract: "Look up the country of IP addresses as edge nodes do (Debian tor-geoipdb).")

    @Argument(help: "IPv4 or IPv6 addresses.") var addresses: [String] = []
    @Option(help: "IPv4 ranges file.") var ipv4File = GeoIPDatabase.defaultIPv4Path
    @Option(help: "IPv6 ranges file.") var ipv6File = GeoIPDatabase.defaultIPv6Path
    @Option(help: "Time this many lookups of random public addresses (half IPv4, half IPv6) and print lookups per second.")
    var bench: Int?

    func run() throws {
        let loading = ContinuousClock.now
        let database = try GeoIPDatabase(ipv4Path: ipv4File, ipv6Path: ipv6File)
        let loaded = ContinuousClock.now - loading
        for text in addresses {
            guard let address = IPAddress(text) else { throw ValidationError("\(text) is not an IP address") }
            print("\(text)\t\(database.country(of: address) ?? "--")")
        }
        guard let count = bench, count > 0 else { return }
        var generator = SystemRandomNumberGenerator()
        let v4 = (0..<4096).map { _ in UInt32.random(in: 0x0100_0000...0xDFFF_FFFF, using: &generator) }
        let v6 = (0..<4096).map { _ in UInt128(0x2000) << 112 | UInt128(UInt64.random(in: 0...UInt64.max, using: &generator)) << 48 }
        var found = 0
        let start = ContinuousClock.now
        for index in 0..<count {
            let hit = index & 1 == 0 ? database.packedCountry(ipv4: v4[index & 4095]) : database.packedCountry(ipv6: v6[index & 4095])
            if hit != nil { found += 1 }
        }
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        print(
            "loaded \(database.ipv4RangeCount) IPv4 and \(database.ipv6RangeCount) IPv6 ranges in \(loaded); \(count) lookups in \(String(format: "%.3f", seconds)) s: \(Int(Double(count) / seconds)) lookups/s on one core (\(found) found a country)"
        )
    }
}
