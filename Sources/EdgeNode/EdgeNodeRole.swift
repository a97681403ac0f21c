import DCDNCore
import Foundation
import Hummingbird
import Logging
import NodeAgent
import ServiceLifecycle

/// `dcdn node`: the edge's HTTP listener fed by the node API, reporting traffic in heartbeats.
public struct EdgeNodeRole: Service {
    public let state = EdgeState()
    let agent: NodeAgent
    let host: String
    let port: Int
    let logger: Logger

    public init(host: String, port: Int, agent: NodeAgent.Configuration, logger: Logger) {
        self.host = host
        self.port = port
        self.agent = NodeAgent(configuration: agent, logger: logger)
        self.logger = logger
        if let saved = self.agent.loadPersisted() {
            state.apply(saved)
            logger.info("serving the saved configuration until the coordinator answers", metadata: ["version": "\(saved.version)"])
        }
    }

    public func run() async throws {
        let clients = OriginClients()
        let proxy = EdgeProxy(state: state, clients: clients, logger: logger)
        let (host, port, logger) = (host, port, logger)
        let application = Application(
            responder: proxy, configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { _ in logger.info("edge listening on \(host):\(port) (HTTP)") }, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService(gracefulShutdownSignals: []) }
            group.addTask {
                await agent.run(
                    apply: { snapshot in state.apply(snapshot) },
                    report: { NodeReport(configVersion: nil, windowSeconds: 5, domains: state.drainCounters()) })
            }
            try await group.next()
            group.cancelAll()
        }
        await clients.shutdown()
    }
}
