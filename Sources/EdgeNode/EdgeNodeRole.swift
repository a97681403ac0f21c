import DCDNCore
import Foundation
import GeoIP
import HTTPCache
import Hummingbird
import HummingbirdCore
import ImageKit
import Logging
import NIOSSL
import NodeAgent
import NodeProtocol
import ServiceLifecycle

/// `dcdn node`: the edge's HTTP listener fed by the node API, reporting traffic in heartbeats.
public struct EdgeNodeRole: Service {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        /// The disk tier's folder; nil keeps a memory-only cache.
        public var cacheDirectory: String?
        public var cacheLimits: CacheStore.Limits
        public var originTimeout: Int
        /// Image sources allowed to be private, pinned to `address[:port]` (see `SourceFetcher`).
        public var imagePrivateSources: [String: String]
        /// The HTTPS listener's port (TLS with the synced certificates); nil serves plain HTTP only.
        public var httpsPort: Int?
        /// Extra roots strict mode trusts for origins (PEM file).
        public var originCABundle: String?
        /// Connection-level and flood defences.
        public var protection: EdgeProtectionSettings = .init()
        /// Which addresses origins may have (private ones are refused; dev allows loopback).
        public var originPolicy = OriginAddressPolicy()
        /// Country data for sanctions, country rules and reports (Debian's tor-geoipdb).
        public var geoIPv4Path = GeoIPDatabase.defaultIPv4Path
        public var geoIPv6Path = GeoIPDatabase.defaultIPv6Path

        public init(
            host: String, port: Int, cacheDirectory: String?, cacheLimits: CacheStore.Limits = .init(), originTimeout: Int = 100,
            imagePrivateSources: [String: String] = [:], httpsPort: Int? = nil, originCABundle: String? = nil,
            protection: EdgeProtectionSettings = .init()
        ) {
            self.protection = protection
            self.httpsPort = httpsPort
            self.originCABundle = originCABundle
            self.host = host
            self.port = port
            self.cacheDirectory = cacheDirectory
            self.cacheLimits = cacheLimits
            self.originTimeout = originTimeout
            self.imagePrivateSources = imagePrivateSources
        }
    }

    public let state = EdgeState()
    let security: EdgeSecurity
    public let store: CacheStore
    let purger: Purger
    let certificates: CertificateStore
    let agent: NodeAgent
    let options: Options
    let logger: Logger

    public init(options: Options, agent: NodeAgent.Configuration, logger: Logger) throws {
        self.options = options
        self.agent = NodeAgent(configuration: agent, logger: logger)
        self.logger = logger
        store = CacheStore(directory: options.cacheDirectory, limits: options.cacheLimits, logger: logger)
        purger = Purger(store: store, logger: logger)
        certificates = try CertificateStore(logger: logger)
        var geoIP: GeoIPDatabase?
        do {
            geoIP = try GeoIPDatabase(ipv4Path: options.geoIPv4Path, ipv6Path: options.geoIPv6Path)
        } catch {
            logger.error("no GeoIP data: sanctions and country rules cannot be enforced", metadata: ["error": "\(error)"])
        }
        security = EdgeSecurity(settings: options.protection, geoIP: geoIP)
        if let field = options.protection.testCountryHeader {
            logger.warning("the \(field) header sets visitors' countries: a test setting, never for production")
        }
        if let saved = self.agent.loadPersisted() {
            state.apply(saved)
            certificates.apply(saved.edge?.domains ?? [])
            logger.info("serving the saved configuration until the coordinator answers", metadata: ["version": "\(saved.version)"])
        }
    }

    public func run() async throws {
        let clients = OriginClients(readTimeout: .seconds(Int64(options.originTimeout)), originCABundle: options.originCABundle)
        var origins = OriginFetcher(clients: clients, logger: logger, timeout: .seconds(Int64(options.originTimeout) + 5))
        origins.addresses = OriginAddresses(policy: options.originPolicy)
        origins.images = ImagePipeline(fetcher: SourceFetcher(policy: .init(privateSources: options.imagePrivateSources)))
        let cache = EdgeCache(
            store: store, flights: FlightTable(), origins: origins, state: state, compressed: CompressedVariants())
        let proxy = EdgeProxy(state: state, cache: cache, origins: origins, security: security)
        let webSockets = WebSocketTunnel(state: state, logger: logger, addresses: origins.addresses)
        let (host, port, logger, state, purger, certificates, security, store) = (
            options.host, options.port, logger, state, purger, certificates, security, store
        )
        let defences = ConnectionDefences(settings: options.protection, security: security) { host in
            state.routes.route(forName: host)?.domain
        }
        func listener(port: Int, tls: NIOSSLContext?) -> some ApplicationProtocol {
            Application(
                responder: proxy,
                server: HTTPServerBuilder { responder in
                    EdgeChannel(
                        responder: responder, webSockets: webSockets, fastPath: { proxy.fastAnswer($0, client: $1) }, tls: tls,
                        defences: security.settings.enabled ? defences : nil)
                },
                configuration: .init(address: .hostname(host, port: port), serverName: nil),
                onServerRunning: { _ in
                    logger.info(
                        "edge \(tls == nil ? "" : "TLS ")listening on \(host):\(port) (\(tls == nil ? "HTTP" : "HTTPS"), HTTP/1.1 and HTTP/2)"
                    )
                }, logger: logger)
        }
        let tls = try options.httpsPort.map { _ in try NIOSSLContext(configuration: certificates.serverConfiguration()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener(port: port, tls: nil).runService(gracefulShutdownSignals: []) }
            if let httpsPort = options.httpsPort, let tls {
                group.addTask { try await listener(port: httpsPort, tls: tls).runService(gracefulShutdownSignals: []) }
            }
            group.addTask {
                // The attack detector's clock: every second, offenders and ended attacks; every
                // ten, freed memory back to the kernel (a burst of connections would otherwise
                // leave RSS at its peak).
                await cancelWhenGracefulShutdown {
                    var ticks = 0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        let now = Date().timeIntervalSince1970
                        security.detector.tick(now: now, offenders: security.traffic.sweep(now: now))
                        ticks += 1
                        if ticks % 10 == 0 { HeapTrim.run() }
                    }
                }
            }
            group.addTask {
                await agent.run(
                    apply: { snapshot in
                        for gone in state.apply(snapshot) {
                            let removed = store.remove(domain: gone) { _ in true }
                            logger.info(
                                "dropped the cache of a removed domain", metadata: ["domain": "\(gone)", "responses": "\(removed)"])
                        }
                        certificates.apply(snapshot.edge?.domains ?? [])
                        purger.run(snapshot.edge?.purges ?? [])
                    },
                    report: {
                        var domains = state.drainCounters()
                        let (attacks, countries) = security.detector.drain()
                        for index in domains.indices { domains[index].countries = countries[domains[index].domain] }
                        return NodeReport(configVersion: nil, windowSeconds: 5, domains: domains, attacks: attacks)
                    })
            }
            // On graceful shutdown every task ends by itself: the listeners drain their
            // connections, the agent and the clock stop. A task ending otherwise ends the role.
            for try await _ in group where !Task.isShuttingDownGracefully { group.cancelAll() }
        }
        await clients.shutdown()
    }
}
