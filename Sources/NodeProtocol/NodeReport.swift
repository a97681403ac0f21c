import Foundation

/// `POST /api/v1/node-api/report`: a heartbeat with the counters of the last window.
public struct NodeReport: Codable, Sendable, Equatable {
    public struct DomainCounters: Codable, Sendable, Equatable {
        public var domain: String
        public var requests: Int64
        public var bytes: Int64
        public var cacheHits: Int64
        public var status2xx: Int64
        public var status3xx: Int64
        public var status4xx: Int64
        public var status5xx: Int64
        public var blocked: Int64
        public var challenged: Int64
        /// Requests by the visitor's country (two letters; "XX" unknown).
        public var countries: [String: Int64]?
        /// Blocked or challenged requests by mitigation (`Mitigation` raw values).
        public var mitigations: [String: Int64]?

        public init(domain: String) {
            self.domain = domain
            requests = 0
            bytes = 0
            cacheHits = 0
            status2xx = 0
            status3xx = 0
            status4xx = 0
            status5xx = 0
            blocked = 0
            challenged = 0
        }
    }
    public var configVersion: Int64?
    public var windowSeconds: Int
    public var dnsQueries: Int64?
    public var domains: [DomainCounters]
    /// Attacks this node saw begin, continue or end in the window.
    public var attacks: [AttackEvent]

    enum CodingKeys: String, CodingKey { case configVersion, windowSeconds, dnsQueries, domains, attacks }

    /// A bare heartbeat (no counters) is a valid report.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        configVersion = try container.decodeIfPresent(Int64.self, forKey: .configVersion)
        windowSeconds = try container.decodeIfPresent(Int.self, forKey: .windowSeconds) ?? 0
        dnsQueries = try container.decodeIfPresent(Int64.self, forKey: .dnsQueries)
        domains = try container.decodeIfPresent([DomainCounters].self, forKey: .domains) ?? []
        attacks = try container.decodeIfPresent([AttackEvent].self, forKey: .attacks) ?? []
    }

    public init(
        configVersion: Int64?, windowSeconds: Int, dnsQueries: Int64? = nil, domains: [DomainCounters] = [], attacks: [AttackEvent] = []
    ) {
        self.attacks = attacks
        self.configVersion = configVersion
        self.windowSeconds = windowSeconds
        self.dnsQueries = dnsQueries
        self.domains = domains
    }
}
