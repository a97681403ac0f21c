import DCDNCore
import FluentKit
import Foundation

/// A plan as stored: seeded from `PlanCatalog`, editable by admins. A limit absent from
/// `limits` is unlimited.
public final class Plan: Model, @unchecked Sendable {
    public static let schema = "plans"

    @ID(custom: "id", generatedBy: .user) public var id: String?
    @Field(key: "name") public var name: String
    /// Monthly price in micro-credits; nil is "Custom" (arranged with the operator).
    @OptionalField(key: "monthly_price_micro") public var monthlyPriceMicro: Int64?
    @Field(key: "byok_required") public var byokRequired: Bool
    @Field(key: "limits") public var limits: [String: Int64]
    @Field(key: "position") public var position: Int
    @Timestamp(key: "updated_at", on: .update) public var updatedAt: Date?

    public init() {}

    public init(_ definition: PlanDefinition, position: Int) {
        self.id = definition.id
        self.name = definition.name
        self.monthlyPriceMicro = definition.monthlyPrice?.micro
        self.byokRequired = definition.byokRequired
        self.limits = Dictionary(uniqueKeysWithValues: definition.limits.map { ($0.key.rawValue, $0.value) })
        self.position = position
    }

    /// nil when unlimited.
    public func limit(_ limit: PlanLimit) -> Int64? { limits[limit.rawValue] }
}
