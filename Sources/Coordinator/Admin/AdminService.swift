import DCDNCore
import FluentKit
import Foundation

/// What admins change: users' roles and plans, and the plans themselves.
struct AdminService {
    let store: DatabaseStore
    var db: any Database { store.db }

    func users(page: Page, search: String?) async throws -> ([User], Int) {
        var query = User.query(on: db)
        if let search, !search.isEmpty {
            query = query.filter(\.$email ~~ search.lowercased())
        }
        let total = try await query.count()
        let users = try await query.sort(\.$createdAt, .descending).range(page.offset..<(page.offset + page.limit)).all()
        return (users, total)
    }

    /// Changes a user's role and/or plan. An admin cannot change their own role (no lock-out).
    func update(userID: UUID, role: String?, planID: String?, by admin: Identity) async throws -> User {
        guard let user = try await User.find(userID, on: db) else { throw APIError.notFound("User") }
        if let role {
            guard let newRole = User.Role(rawValue: role) else { throw APIError.validation("role", "must be user, reseller or admin") }
            if user.id == admin.userID, newRole != user.role {
                throw APIError.conflict("You cannot change your own role; ask another admin.", code: .ownRole)
            }
            user.role = newRole
        }
        if let planID {
            guard try await Plan.find(planID, on: db) != nil else { throw APIError.validation("plan_id", "is not a plan; see GET /plans") }
            user.planID = planID
        }
        try await user.save(on: db)
        return user
    }
}
