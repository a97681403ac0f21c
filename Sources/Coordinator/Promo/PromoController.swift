import DCDNCore
import Foundation
import Hummingbird

/// `/promo/*`: admins create, list and toggle codes; users redeem them.
struct PromoController {
    let idempotency: IdempotentCalls
    let rateLimits: Coordinator.RateLimits
    let promos: PromoService

    struct PromoList: ResponseCodable {
        var promoCodes: [PromoService.Response]
        var total: Int
    }

    struct RedeemRequest: Decodable {
        var code: String?
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("promo")
        group.post("create") { request, context -> EditedResponse<PromoService.Response> in
            let admin = try context.requireAdmin()
            let draft = try await request.decode(as: PromoService.Draft.self, context: context)
            return EditedResponse(
                status: .created, response: PromoService.Response(try await promos.create(draft, by: admin.userID)))
        }
        group.get("list") { request, context -> PromoList in
            _ = try context.requireAdmin()
            let (codes, total) = try await promos.list(try Page(request))
            return PromoList(promoCodes: codes.map(PromoService.Response.init), total: total)
        }
        group.post(":id/toggle") { _, context -> PromoService.Response in
            _ = try context.requireAdmin()
            return PromoService.Response(try await promos.toggle(try context.parameters.uuid("id", what: "Promo code")))
        }
        group.post("redeem") { request, context -> PromoService.Redemption in
            let identity = try context.requireIdentity()
            try await redeemAttempt(identity.userID)
            let body = try await request.decode(as: RedeemRequest.self, context: context)
            return try await idempotency.run(request, user: identity.userID, route: "promo/redeem") { _ in
                try await promos.redeem(body.code ?? "", userID: identity.userID)
            }
        }
    }

    /// Five attempts per user per minute (the guide's rule), counted before anything is looked up.
    func redeemAttempt(_ userID: UUID) async throws {
        try await rateLimits.promoRedeem.enforce(key: userID.uuidString, what: "promo code attempts")
    }
}
