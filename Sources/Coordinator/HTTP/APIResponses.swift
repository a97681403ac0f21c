import DCDNCore
import Foundation
import Hummingbird

/// How the API shows a user.
struct UserResponse: ResponseCodable {
    var id: UUID
    var email: String
    var role: String
    var plan: String
    var emailVerified: Bool
    var hasPassword: Bool
    var signInWithProvider: Bool
    var createdAt: Date?

    init(_ user: User) {
        id = user.id!
        email = user.email
        role = user.role.rawValue
        plan = user.planID
        emailVerified = user.isEmailVerified
        hasPassword = user.passwordHash != nil
        signInWithProvider = user.oidcSubject != nil
        createdAt = user.createdAt
    }
}

/// How the API shows a plan: every known limit, `null` where unlimited.
struct PlanResponse: ResponseCodable {
    var id: String
    var name: String
    /// Credits per month; `null` is a custom price.
    var monthlyPrice: Credits?
    var byokRequired: Bool
    var limits: [String: Int64?]

    init(_ plan: Plan) {
        id = plan.id!
        name = plan.name
        monthlyPrice = plan.monthlyPriceMicro.map { Credits(micro: $0) }
        byokRequired = plan.byokRequired
        limits = Dictionary(uniqueKeysWithValues: PlanLimit.allCases.map { ($0.rawValue, plan.limit($0)) })
    }

    enum CodingKeys: String, CodingKey { case id, name, monthlyPrice, byokRequired, limits }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(monthlyPrice, forKey: .monthlyPrice)
        try container.encode(byokRequired, forKey: .byokRequired)
        try container.encode(limits, forKey: .limits)
    }
}

/// `limit` and `offset` of list endpoints (default 50, at most 500).
struct Page {
    var limit: Int
    var offset: Int

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        limit = 50
        offset = 0
        if let text = query["limit"] {
            guard let value = Int(String(text)), (1...500).contains(value) else {
                throw APIError.validation("limit", "must be a whole number from 1 to 500")
            }
            limit = value
        }
        if let text = query["offset"] {
            guard let value = Int(String(text)), value >= 0 else {
                throw APIError.validation("offset", "must be a whole number of at least 0")
            }
            offset = value
        }
    }
}

extension Parameters {
    /// A UUID path parameter; a malformed one is "not found", like any other unknown ID.
    func uuid(_ name: String, what: String) throws -> UUID {
        guard let text = self.get(name), let id = UUID(uuidString: text) else { throw APIError.notFound(what) }
        return id
    }
}
