import ArgumentParser
import Coordinator
import DCDNCore
import Foundation
import Logging

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
