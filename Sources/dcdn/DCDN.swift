import ArgumentParser
import Coordinator
import DCDNCore
import Foundation
import Logging
import ServiceLifecycle

@main
struct DCDN: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dcdn",
        abstract: "DCDN: a self-hostable, decentralized CDN and cloud platform.",
        discussion: """
            One binary, one subcommand per role. Start with `dcdn dev`: the whole platform on this
            machine with an embedded database. Every flag is also a DCDN_* environment variable and
            a key of the JSON config file; see docs/configuration.md.
            """,
        subcommands: [Dev.self, CoordinatorCommand.self, Database.self, Admin.self])
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
        try await withCoordinator(settings: settings, publicURL: publicURL, logger: logger) { coordinator in
            let admin = try await DevAdmin.ensure(settings: settings, accounts: coordinator.accounts)
            let app = buildApplication(coordinator, host: settings.host, port: settings.apiPort) { _ in
                // Written unbuffered: scripts wait for the "listening" line on a pipe.
                let banner = """

                    DCDN dev is running.
                      Dashboard    \(publicURL)/dashboard
                      API          \(publicURL)/api/v1  (OpenAPI: \(publicURL)/api/v1/openapi.json)
                      Dev outbox   \(publicURL)/dashboard/outbox  (verification mail lands here)
                      Admin login  \(admin.email)  password: \(admin.password)
                      Data         \(dataDirectory)
                    coordinator listening on \(publicURL)

                    """
                FileHandle.standardOutput.write(Data((banner + "\n").utf8))
            }
            try await runUntilSignalled([app, ExpiredCredentialsJob(store: coordinator.store, logger: logger)], logger: logger)
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
            try await runUntilSignalled([app, ExpiredCredentialsJob(store: coordinator.store, logger: logger)], logger: logger)
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
    static let configuration = CommandConfiguration(abstract: "Operator tasks.", subcommands: [CreateUser.self])

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
