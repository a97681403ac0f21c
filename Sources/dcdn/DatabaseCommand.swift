import ArgumentParser
import Coordinator
import DCDNCore
import Foundation
import Logging

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
