import DCDNCore
import FluentKit
import Foundation

/// A reseller tier's limits; seeded with the guide's, editable by admins.
public final class ResellerTier: Model, @unchecked Sendable {
    public static let schema = "reseller_tiers"

    @ID(custom: "name", generatedBy: .user) public var id: String?
    @Field(key: "credit_per_user_micro") public var creditPerUser: Int64
    @Field(key: "min_sales_to_qualify") public var minSalesToQualify: Int
    @Field(key: "max_promos_per_reseller") public var maxPromosPerReseller: Int
    @Field(key: "badge") public var badge: String
    @Field(key: "position") public var position: Int

    public init() {}

    init(name: String, creditPerUser: Int64, minSales: Int, maxPromos: Int, badge: String, position: Int) {
        self.id = name
        self.creditPerUser = Credits(creditPerUser).micro
        self.minSalesToQualify = minSales
        self.maxPromosPerReseller = maxPromos
        self.badge = badge
        self.position = position
    }

    /// The technical guide's table.
    static var defaults: [ResellerTier] {
        [
            ResellerTier(name: "base", creditPerUser: 25, minSales: 0, maxPromos: 100, badge: "", position: 0),
            ResellerTier(name: "bronze", creditPerUser: 50, minSales: 50, maxPromos: 100, badge: "🥉", position: 1),
            ResellerTier(name: "silver", creditPerUser: 100, minSales: 100, maxPromos: 100, badge: "🥈", position: 2),
            ResellerTier(name: "gold", creditPerUser: 250, minSales: 500, maxPromos: 100, badge: "🥇", position: 3),
        ]
    }
}
