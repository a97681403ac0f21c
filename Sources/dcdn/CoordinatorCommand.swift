import ArgumentParser
import Coordinator
import DCDNCore
import Foundation
import Logging

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
            try await runUntilSignalled([coordinator.store, app] + coordinator.jobs(), logger: logger)
        }
    }
}
