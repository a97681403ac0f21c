import Foundation

/// `POST /api/v1/node-api/register`.
public struct NodeRegistration: Codable, Sendable, Equatable {
    public var role: String
    public var name: String?
    public var region: String?
    public var country: String?
    public var latitude: Double?
    public var longitude: Double?
    public var ipv4: String?
    public var ipv6: String?
    public var capacity: Int?

    public init(
        role: String, name: String? = nil, region: String? = nil, country: String? = nil, latitude: Double? = nil, longitude: Double? = nil,
        ipv4: String? = nil, ipv6: String? = nil, capacity: Int? = nil
    ) {
        self.role = role
        self.name = name
        self.region = region
        self.country = country
        self.latitude = latitude
        self.longitude = longitude
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.capacity = capacity
    }
}
