import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import NodeProtocol

/// Node operators' machines: created by admins, authenticated by their token, healthy while
/// they send heartbeats.
public struct NodeService: Sendable {
    let store: DatabaseStore
    let feed: ConfigFeed
    static let tokenPrefix = "dcdn_node_"
    /// A node missing heartbeats this long is unhealthy and GeoDNS stops handing it out.
    public static let heartbeatTimeout: TimeInterval = 15

    var db: any Database { store.db }

    public struct Draft: Decodable, Sendable {
        public var name: String?
        public var roles: [String]?
        public var region: String?
        public var country: String?
        public var latitude: Double?
        public var longitude: Double?
        public var ipv4: String?
        public var ipv6: String?
        public var hostname: String?
        public var capacity: Int?
        public var ipAllowlist: [String]?

        public init() {}
    }

    /// Creates a node and its token (returned once).
    public func create(_ draft: Draft) async throws -> (Node, String) {
        let node = Node()
        node.healthy = false
        node.roles = []
        node.ipAllowlist = []
        node.capacity = 1000
        try apply(draft, to: node, creating: true)
        guard try await Node.query(on: db).filter(\.$name == node.name).first() == nil else {
            throw APIError.conflict("A node named \(node.name) exists.", code: .nameTaken)
        }
        let token = Secrets.randomToken(prefix: Self.tokenPrefix)
        node.tokenHash = Secrets.hash(token)
        try await node.create(on: db)
        try await feed.bump()
        return (node, token)
    }

    public func update(_ id: UUID, _ draft: Draft) async throws -> Node {
        guard let node = try await Node.find(id, on: db) else { throw APIError.notFound("Node") }
        try apply(draft, to: node, creating: false)
        try await node.save(on: db)
        try await feed.bump()
        return node
    }

    public func delete(_ id: UUID) async throws {
        guard let node = try await Node.find(id, on: db) else { throw APIError.notFound("Node") }
        try await node.delete(on: db)
        try await feed.bump()
    }

    public func rotateToken(_ id: UUID) async throws -> (Node, String) {
        guard let node = try await Node.find(id, on: db) else { throw APIError.notFound("Node") }
        let token = Secrets.randomToken(prefix: Self.tokenPrefix)
        node.tokenHash = Secrets.hash(token)
        try await node.save(on: db)
        return (node, token)
    }

    public func list() async throws -> [Node] {
        try await Node.query(on: db).sort(\.$name).all()
    }

    /// The node a node-API request comes from, or 401/403.
    public func authenticate(token: String?, from address: IPAddress?) async throws -> Node {
        guard let token, token.hasPrefix(Self.tokenPrefix),
            let node = try await Node.query(on: db).filter(\.$tokenHash == Secrets.hash(token)).first()
        else { throw APIError(.unauthorized, code: .unauthorized, detail: "Send the node's token as Authorization: Bearer.") }
        if !node.ipAllowlist.isEmpty {
            let allowed = node.ipAllowlist.compactMap(CIDR.init)
            guard let address, allowed.contains(where: { $0.contains(address) }) else {
                throw APIError(
                    .forbidden, code: .ipNotAllowed,
                    detail: "This node may not call the node API from \(address?.description ?? "this address").")
            }
        }
        return node
    }

    /// `POST /node-api/register`: the node tells what it runs and where; idempotent.
    public func register(_ node: Node, _ registration: NodeRegistration) async throws {
        guard Node.roles.contains(registration.role) else {
            throw APIError.validation("role", "must be one of \(Node.roles.joined(separator: ", "))")
        }
        guard node.roles.contains(registration.role) else { throw NodeAPIController.notAssigned(registration.role, node) }
        let before = Self.fingerprint(node)
        var draft = Draft()
        draft.region = registration.region
        draft.country = registration.country
        draft.latitude = registration.latitude
        draft.longitude = registration.longitude
        draft.ipv4 = registration.ipv4
        draft.ipv6 = registration.ipv6
        draft.capacity = registration.capacity
        try apply(draft, to: node, creating: false)
        guard Self.fingerprint(node) != before else { return }
        try await node.save(on: db)
        try await feed.bump()
    }

    /// `POST /node-api/report`: a heartbeat (a node coming back is healthy again at once) and
    /// traffic counters added to the minute they belong to.
    public func report(_ node: Node, _ report: NodeReport) async throws {
        node.lastHeartbeatAt = Date()
        node.configVersionSeen = report.configVersion
        let recovered = !node.healthy
        node.healthy = true
        try await node.save(on: db)
        if recovered { try await feed.bump() }
        let minute = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60)
        for counters in report.domains.prefix(10_000) {
            let existing = try await TrafficCounter.query(on: db).filter(\.$domainName == counters.domain).filter(\.$minute == minute)
                .first()
            let row = existing ?? TrafficCounter()
            if existing == nil {
                row.domainName = String(counters.domain.prefix(253))
                row.minute = minute
                row.requests = 0; row.bytes = 0; row.cacheHits = 0; row.status2xx = 0; row.status3xx = 0
                row.status4xx = 0; row.status5xx = 0; row.blocked = 0; row.challenged = 0
            }
            row.requests += counters.requests
            row.bytes += counters.bytes
            row.cacheHits += counters.cacheHits
            row.status2xx += counters.status2xx
            row.status3xx += counters.status3xx
            row.status4xx += counters.status4xx
            row.status5xx += counters.status5xx
            row.blocked += counters.blocked
            row.challenged += counters.challenged
            try await row.save(on: db)
        }
    }

    /// Marks nodes silent for longer than the timeout unhealthy; returns how many changed.
    @discardableResult
    public func expireSilentNodes(now: Date = Date(), round: JobRound? = nil) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Self.heartbeatTimeout)
        let silent = try await Node.query(on: db).filter(\.$healthy == true).all().filter { ($0.lastHeartbeatAt ?? .distantPast) < cutoff }
        var marked = 0
        for listed in silent {
            // One item per node and last heartbeat: a node that comes back and falls silent again is a new one.
            try await round.run("\(listed.id!):\(JobClaims.millis(listed.lastHeartbeatAt ?? .distantPast))") {
                guard let node = try await Node.find(listed.id, on: db), node.healthy, node.lastHeartbeatAt == listed.lastHeartbeatAt else {
                    return
                }
                node.healthy = false
                try await node.save(on: db)
                try await feed.bump()
                marked += 1
            }
        }
        return marked
    }

    private func apply(_ draft: Draft, to node: Node, creating: Bool) throws {
        if let name = draft.name?.trimmingCharacters(in: .whitespaces) {
            guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else {
                throw APIError.validation("name", "must be 1 to 64 letters, digits, - _ or .")
            }
            node.name = name
        } else if creating {
            throw APIError.validation("name", "is required")
        }
        if let roles = draft.roles {
            guard !roles.isEmpty, roles.allSatisfy(Node.roles.contains) else {
                throw APIError.validation("roles", "must be some of \(Node.roles.joined(separator: ", "))")
            }
            node.roles = Array(Set(roles)).sorted()
        } else if creating {
            throw APIError.validation("roles", "is required")
        }
        if let region = draft.region?.trimmingCharacters(in: .whitespaces) {
            guard (1...64).contains(region.count) else { throw APIError.validation("region", "must be 1 to 64 characters") }
            node.region = region
        } else if creating {
            throw APIError.validation("region", "is required")
        }
        if let country = draft.country {
            guard country.count == 2, country.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw APIError.validation("country", "must be a two-letter ISO 3166 code")
            }
            node.country = country.uppercased()
        } else if creating {
            throw APIError.validation("country", "is required")
        }
        if let latitude = draft.latitude {
            guard (-90...90).contains(latitude) else { throw APIError.validation("latitude", "must be -90 to 90") }
            node.latitude = latitude
        }
        if let longitude = draft.longitude {
            guard (-180...180).contains(longitude) else { throw APIError.validation("longitude", "must be -180 to 180") }
            node.longitude = longitude
        }
        if let ipv4 = draft.ipv4 {
            guard let address = IPAddress(ipv4), address.isIPv4 else { throw APIError.validation("ipv4", "must be an IPv4 address") }
            node.ipv4 = address.description
        }
        if let ipv6 = draft.ipv6 {
            guard let address = IPAddress(ipv6), !address.isIPv4 else { throw APIError.validation("ipv6", "must be an IPv6 address") }
            node.ipv6 = address.description
        }
        if let raw = draft.hostname?.trimmingCharacters(in: .whitespaces) {
            if raw.isEmpty {
                node.hostname = nil
            } else {
                guard let hostname = DNSRecordContent.hostname(raw), hostname.contains(".") else {
                    throw APIError.validation("hostname", "must be a host name such as ns2.dcdn.example")
                }
                node.hostname = hostname
            }
        }
        if let capacity = draft.capacity {
            guard capacity > 0 else { throw APIError.validation("capacity", "must be positive") }
            node.capacity = capacity
        }
        if let allowlist = draft.ipAllowlist {
            for entry in allowlist where CIDR(entry) == nil {
                throw APIError.validation("ip_allowlist", "\(entry) is not an IP address or CIDR")
            }
            node.ipAllowlist = allowlist
        }
        if creating, node.ipv4 == nil, node.ipv6 == nil, node.roles.contains("edge") || node.roles.contains("dns") {
            throw APIError.validation("ipv4", "an edge or DNS node needs a public IPv4 or IPv6 address")
        }
    }

    static func fingerprint(_ node: Node) -> String {
        "\(node.roles)|\(node.region)|\(node.country)|\(String(describing: node.latitude))|\(String(describing: node.longitude))|\(node.ipv4 ?? "")|\(node.ipv6 ?? "")|\(node.hostname ?? "")|\(node.capacity)"
    }
}
