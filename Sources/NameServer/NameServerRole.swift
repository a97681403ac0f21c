import DCDNCore
import DNSKit
import Foundation
import GeoIP
import Logging
import NodeAgent
import NodeProtocol
import ServiceLifecycle
import Synchronization

/// `dcdn dns`: the listeners plus the configuration sync that feeds them and notifies secondaries.
public struct NameServerRole: Service {
    public let server: DNSServer
    let agent: NodeAgent
    let notifier: NotifySender
    let logger: Logger

    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var agent: NodeAgent.Configuration
        public var transferKey: TSIGKey?
        public var notify: [String]
        public var geoIPv4Path = GeoIPDatabase.defaultIPv4Path
        public var geoIPv6Path = GeoIPDatabase.defaultIPv6Path

        public init(host: String, port: Int, agent: NodeAgent.Configuration, transferKey: TSIGKey?, notify: [String]) {
            self.host = host
            self.port = port
            self.agent = agent
            self.transferKey = transferKey
            self.notify = notify
        }
    }

    public init(options: Options, logger: Logger) throws {
        let geoIP: GeoIPDatabase?
        do {
            geoIP = try GeoIPDatabase(ipv4Path: options.geoIPv4Path, ipv6Path: options.geoIPv6Path)
        } catch {
            // Without GeoIP every client gets the same healthy nodes: still correct, not nearest.
            logger.warning("GeoIP unavailable; answers will not depend on the client's location", metadata: ["error": "\(error)"])
            geoIP = nil
        }
        let store = ZoneStore(geoIP: geoIP)
        server = DNSServer(store: store, host: options.host, port: options.port, transferKey: options.transferKey, logger: logger)
        agent = NodeAgent(configuration: options.agent, logger: logger)
        notifier = try NotifySender(targets: options.notify, key: options.transferKey, logger: logger)
        self.logger = logger
        if let saved = agent.loadPersisted() {
            store.apply(saved)
            logger.info(
                "serving the saved configuration until the coordinator answers",
                metadata: ["version": "\(saved.version)", "zones": "\(saved.dns?.zones.count ?? 0)"])
        }
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask {
                await agent.run(
                    apply: { snapshot in
                        let changed = server.store.apply(snapshot)
                        await notifier.notify(changed)
                    },
                    report: { NodeReport(configVersion: nil, windowSeconds: 5, dnsQueries: server.queries.exchange(0, ordering: .relaxed)) }
                )
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
