import ServiceLifecycle

/// On graceful shutdown, releases the node API's long polls so the HTTP server can drain
/// instead of waiting up to a minute for them.
struct LongPollDrain: Service {
    let feed: ConfigFeed

    func run() async throws {
        try? await gracefulShutdown()
        feed.stopWaiting()
    }
}
