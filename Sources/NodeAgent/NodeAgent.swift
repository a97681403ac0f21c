import AsyncHTTPClient
import DCDNCore
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NodeProtocol
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A role's side of the node API: registers, long-polls configuration (applying deltas),
/// persists the last snapshot so the role keeps serving when the coordinator is away, and
/// sends a heartbeat with counters every few seconds.
public final class NodeAgent: Sendable {
    public struct Configuration: Sendable {
        public var coordinatorURL: String
        public var token: String
        public var registration: NodeRegistration
        /// Where the last snapshot is kept.
        public var stateFile: String
        public var heartbeatInterval: Duration = .seconds(5)
        public var pollWaitSeconds = 30

        public init(coordinatorURL: String, token: String, registration: NodeRegistration, stateFile: String) {
            self.coordinatorURL = coordinatorURL.hasSuffix("/") ? String(coordinatorURL.dropLast()) : coordinatorURL
            self.token = token
            self.registration = registration
            self.stateFile = stateFile
        }
    }

    let configuration: Configuration
    let logger: Logger
    let httpClient: HTTPClient
    private let current = Mutex<NodeConfigSnapshot?>(nil)

    public init(configuration: Configuration, logger: Logger, httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.logger = logger
        self.httpClient = httpClient
    }

    public var snapshot: NodeConfigSnapshot? { current.withLock { $0 } }

    /// The snapshot saved by an earlier run, if any. One without this role's section (saved by
    /// an older version, or for another role) is ignored: deltas on top of it would be incomplete.
    public func loadPersisted() -> NodeConfigSnapshot? {
        guard let data = FileManager.default.contents(atPath: configuration.stateFile),
            let snapshot = try? JSONDecoder.nodeAPI.decode(NodeConfigSnapshot.self, from: data),
            let role = NodeRole(rawValue: configuration.registration.role), snapshot.roles.contains(role)
        else { return nil }
        current.withLock { $0 = snapshot }
        return snapshot
    }

    /// Runs until cancelled or shut down: `apply` gets every new full snapshot; `report` makes the
    /// heartbeat's counters.
    public func run(apply: @escaping @Sendable (NodeConfigSnapshot) async -> Void, report: @escaping @Sendable () -> NodeReport) async {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.pollLoop(apply: apply) }
                group.addTask { await self.heartbeatLoop(report: report) }
                await group.waitForAll()
            }
        }
    }

    private func pollLoop(apply: @Sendable (NodeConfigSnapshot) async -> Void) async {
        var registered = false
        var backoff = 1
        while !Task.isCancelled {
            do {
                if !registered {
                    try await send("POST", "/api/v1/node-api/register", body: try JSONEncoder.nodeAPI.encode(configuration.registration))
                    registered = true
                    logger.info("registered with the coordinator", metadata: ["coordinator": "\(configuration.coordinatorURL)"])
                }
                let since = snapshot.map { "since=\($0.version)&" } ?? ""
                // Only this role's section: a nameserver sharing an edge's token never holds its keys.
                let (status, body) = try await send(
                    "GET", "/api/v1/node-api/config?role=\(configuration.registration.role)&\(since)wait=\(configuration.pollWaitSeconds)",
                    timeout: .seconds(Int64(configuration.pollWaitSeconds) + 15))
                backoff = 1
                guard status == .ok else { continue }
                let delta = try JSONDecoder.nodeAPI.decode(NodeConfigSnapshot.self, from: body)
                let next = snapshot?.applying(delta) ?? delta
                current.withLock { $0 = next }
                persist(next)
                await apply(next)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("configuration sync failed; serving the last snapshot", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(backoff))
                backoff = min(backoff * 2, 10)
            }
        }
    }

    private func heartbeatLoop(report: @Sendable () -> NodeReport) async {
        while !Task.isCancelled {
            var payload = report()
            payload.configVersion = snapshot?.version
            do {
                try await send("POST", "/api/v1/node-api/report", body: try JSONEncoder.nodeAPI.encode(payload))
            } catch {
                logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }

    struct UnexpectedStatus: Error, CustomStringConvertible {
        var status: HTTPResponseStatus
        var body: String
        var description: String { "coordinator answered \(status.code): \(body.prefix(200))" }
    }

    @discardableResult
    private func send(_ method: String, _ path: String, body: Data? = nil, timeout: TimeAmount = .seconds(15)) async throws -> (
        HTTPResponseStatus, Data
    ) {
        var request = HTTPClientRequest(url: configuration.coordinatorURL + path)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await httpClient.execute(request, timeout: timeout)
        let data = Data(buffer: try await response.body.collect(upTo: 256 << 20))
        guard response.status == .ok || response.status == .notModified || response.status == .noContent else {
            throw UnexpectedStatus(status: response.status, body: String(decoding: data, as: UTF8.self))
        }
        return (response.status, data)
    }

    /// Written to a temporary file and renamed, so a crash never leaves a torn snapshot.
    private func persist(_ snapshot: NodeConfigSnapshot) {
        do {
            let data = try JSONEncoder.nodeAPI.encode(snapshot)
            let temporary = configuration.stateFile + ".tmp"
            // An edge's snapshot holds certificates' private keys: readable by this user only.
            guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
            }
            guard rename(temporary, configuration.stateFile) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: configuration.stateFile])
            }
        } catch {
            logger.warning("could not save the configuration snapshot", metadata: ["error": "\(error)"])
        }
    }
}
