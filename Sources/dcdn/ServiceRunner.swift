import ArgumentParser
import Coordinator
import DCDNCore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

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

/// Runs the role's services until SIGTERM or SIGINT and lets them drain, in reverse order: what
/// is listed first (the database) is shut down last.
func runUntilSignalled(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    logger.info("stopped cleanly")
}
