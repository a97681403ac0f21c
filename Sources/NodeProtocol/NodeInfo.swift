import Foundation

/// A machine of a node operator.
public struct NodeInfo: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var roles: [String]
    public var region: String
    public var country: String
    public var latitude: Double?
    public var longitude: Double?
    public var ipv4: String?
    public var ipv6: String?
    /// Heartbeats arrived within the last 15 s.
    public var healthy: Bool

    public init(
        id: UUID, name: String, roles: [String], region: String, country: String, latitude: Double?, longitude: Double?, ipv4: String?,
        ipv6: String?, healthy: Bool
    ) {
        self.id = id
        self.name = name
        self.roles = roles
        self.region = region
        self.country = country
        self.latitude = latitude
        self.longitude = longitude
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.healthy = healthy
    }

    public var isEdge: Bool { roles.contains("edge") }
}
