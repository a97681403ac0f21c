import DCDNCore
import FluentKit
import Foundation

/// The plans customers choose from: seeded from `PlanCatalog`, edited by admins.
struct PlanService {
    let store: DatabaseStore
    var db: any Database { store.db }

    func plans() async throws -> [Plan] {
        try await Plan.query(on: db).sort(\.$position).all()
    }

    struct PlanChange: Decodable {
        var name: String?
        /// Credits per month; JSON null makes the price custom.
        var monthlyPrice: Credits??
        var byokRequired: Bool?
        /// New values by limit key; null makes a limit unlimited. Keys not given stay as they are.
        var limits: [String: Int64?]?
    }

    func update(planID: String, with change: PlanChange) async throws -> Plan {
        guard let plan = try await Plan.find(planID, on: db) else { throw APIError.notFound("Plan") }
        if let name = change.name?.trimmingCharacters(in: .whitespaces) {
            guard (1...40).contains(name.count) else { throw APIError.validation("name", "must be 1 to 40 characters") }
            plan.name = name
        }
        if let price = change.monthlyPrice {
            if let price, price < .zero { throw APIError.validation("monthly_price", "must not be negative") }
            plan.monthlyPriceMicro = price?.micro
        }
        if let byok = change.byokRequired { plan.byokRequired = byok }
        for (key, value) in change.limits ?? [:] {
            guard PlanLimit(rawValue: key) != nil else {
                throw APIError.validation(
                    "limits.\(key)", "is not a limit; known: \(PlanLimit.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let value {
                guard value >= 0 else { throw APIError.validation("limits.\(key)", "must be 0 or more, or null for unlimited") }
                plan.limits[key] = value
            } else {
                plan.limits.removeValue(forKey: key)
            }
        }
        try await plan.save(on: db)
        return plan
    }
}

extension PlanService.PlanChange {
    enum CodingKeys: String, CodingKey { case name, monthlyPrice, byokRequired, limits }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        // Tell "absent" (keep) from "null" (custom price).
        if container.contains(.monthlyPrice) {
            monthlyPrice = .some(
                try container.decodeNil(forKey: .monthlyPrice) ? nil : try container.decode(Credits.self, forKey: .monthlyPrice))
        }
        byokRequired = try container.decodeIfPresent(Bool.self, forKey: .byokRequired)
        limits = try container.decodeIfPresent([String: Int64?].self, forKey: .limits)
    }
}
