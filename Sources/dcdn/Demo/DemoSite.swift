import Coordinator
import Foundation
import Hummingbird
import Logging

/// `dcdn dev`'s first-run demo: `demo.dcdn.test`, owned by the dev admin, proxied by the local
/// edge to a small built-in origin on a free loopback port.
enum DemoSite {
    static let name = "demo.dcdn.test"

    /// The origin application; serves until cancelled.
    static func origin(port: Int, logger: Logger) -> some ApplicationProtocol {
        _ = photo  // start generating it now
        let router = Router()
        router.get("/") { _, _ in
            let html = """
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>DCDN demo origin</title></head>
                <body><h1>Hello from the demo origin</h1>
                <p>Generated at \(Date()). This page allows shared caches to keep it for 60 seconds, so the
                DCDN edge answers the next requests from its cache (see the Cache-Status header).</p>
                <p><a href="/sample.jpg">sample.jpg</a> · <a href="/api/time">/api/time</a> (never cached)</p></body></html>
                """
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "public, max-age=60", .eTag: "\"demo-\(html.count)\""],
                body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        router.get("/sample.jpg") { _, _ in
            // libvips failing to encode is this installation's fault: 503, like any dependency down.
            guard let photo = await DemoSite.photo.value else { return Response(status: .serviceUnavailable) }
            return Response(
                status: .ok,
                headers: [.contentType: "image/jpeg", .cacheControl: "public, max-age=86400", .eTag: "\"sample-\(photo.count)\""],
                body: .init(byteBuffer: ByteBuffer(bytes: photo)))
        }
        router.get("/api/time") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"time\": \"\(Date())\"}")))
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil), logger: logger)
    }

    /// Creates the demo domain (or points it at this run's origin port). Its origin speaks plain
    /// HTTP and visitors may use HTTPS, so SSL mode is flexible.
    static func ensure(coordinator: Coordinator, admin email: String, originPort: Int) async throws {
        let owner = try await coordinator.accounts.user(email: email)
        let origin = "127.0.0.1:\(originPort)"
        if let existing = try? await coordinator.domains.domain(named: name, of: owner) {
            _ = try await coordinator.domains.update(existing, with: .init(origin: origin, sslMode: "flexible"))
        } else {
            _ = try await coordinator.domains.create(
                .init(domain: name, settings: .init(originIp: origin, sslMode: "flexible")), for: owner)
        }
    }

    /// Generated once per process, in the background from start-up.
    static let photo = Task.detached(priority: .utility) { SamplePhoto.make() }
}
