import ArgumentParser
import Coordinator
import DCDNCore
import DNSKit
import EdgeNode
import Foundation
import Logging
import NameServer
import NodeAgent
import NodeProtocol

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
        guard var edgeSettings = settings.edge, var dnsSettings = settings.dns else { preconditionFailure("dev reads both roles") }
        if dnsSettings.port == 0 { dnsSettings.port = try FreePort.pick(host: settings.host) }
        let dnsPort = dnsSettings.port
        if edgeSettings.httpPort == 0 { edgeSettings.httpPort = try FreePort.pick(host: settings.host) }
        let httpPort = edgeSettings.httpPort
        if edgeSettings.httpsPort == 0 { edgeSettings.httpsPort = try FreePort.pick(host: settings.host) }
        let httpsPort = edgeSettings.httpsPort
        // The demo site's images can be optimised on a fresh install: its name is pinned to this edge.
        if settings.imagePrivateSources[DemoSite.name] == nil {
            let pin = "\(settings.host == "0.0.0.0" ? "127.0.0.1" : settings.host):\(httpPort)"
            settings.imagePrivateSources[DemoSite.name] = pin
            edgeSettings.imagePrivateSources[DemoSite.name] = pin
        }
        settings.edge = edgeSettings
        settings.dns = dnsSettings
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
                    transferKey: dnsSettings.transferKey.flatMap(TSIGKey.init), notify: dnsSettings.notify),
                logger: Logger(label: "dcdn.dns"))
            let edge = try EdgeNodeRole(
                options: .edge(edgeSettings, host: settings.host, dataDirectory: dataDirectory, port: httpPort),
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
            try await runUntilSignalled([coordinator.store, app, nameserver, edge, demoOrigin] + coordinator.jobs(), logger: logger)
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
