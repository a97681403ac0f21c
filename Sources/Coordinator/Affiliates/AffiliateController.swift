import DCDNCore
import Foundation
import Hummingbird

/// `/affiliate/*` (§12), and the operator's payout queue.
struct AffiliateController {
    let affiliates: AffiliateService
    let idempotency: IdempotentCalls

    struct PayoutList: ResponseCodable {
        var payouts: [AdminPayout]
        var total: Int
    }

    struct AdminPayout: ResponseCodable {
        var id: UUID
        var affiliateUserId: UUID
        var amount: Credits
        var status: String
        var requestedAt: Date?
        var paidAt: Date?

        init(_ payout: AffiliatePayout) {
            id = payout.id!
            affiliateUserId = payout.affiliateUserID
            amount = Credits(micro: payout.amount)
            status = payout.status.rawValue
            requestedAt = payout.requestedAt
            paidAt = payout.paidAt
        }
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("affiliate")
        group.post("join") { _, context -> AffiliateService.Dashboard in
            let userID = try context.requireIdentity().userID
            _ = try await affiliates.join(userID)
            return try await affiliates.dashboard(userID)
        }
        group.get("dashboard") { _, context -> AffiliateService.Dashboard in
            try await affiliates.dashboard(try context.requireIdentity().userID)
        }
        group.post("request-payout") { request, context -> EditedResponse<AdminPayout> in
            let userID = try context.requireIdentity().userID
            let payout = try await idempotency.run(request, user: userID, route: "affiliate/request-payout") { _ in
                AdminPayout(try await affiliates.requestPayout(userID))
            }
            return EditedResponse(status: .created, response: payout)
        }
        group.get("admin/payouts") { request, context -> PayoutList in
            _ = try context.requireAdmin()
            let (rows, total) = try await affiliates.payouts(try Page(request))
            return PayoutList(payouts: rows.map(AdminPayout.init), total: total)
        }
        group.post("admin/payouts/:id/paid") { _, context -> AdminPayout in
            _ = try context.requireAdmin()
            return AdminPayout(try await affiliates.markPaid(try context.parameters.uuid("id", what: "Payout")))
        }
    }
}
