import DCDNCore
import FluentKit
import Foundation
import Hummingbird

/// `/reseller/*`: admins manage resellers and tiers; a reseller sees their dashboard and makes codes.
struct ResellerController {
    let resellers: ResellerService
    let store: DatabaseStore

    struct CreateRequest: Decodable {
        var userId: UUID?
        var tier: String?
        var companyName: String?
    }

    struct TierRequest: Decodable {
        var tier: String?
    }

    struct ResellerList: ResponseCodable {
        var resellers: [ResellerService.ResellerResponse]
        var total: Int
        var tiers: [ResellerService.TierResponse]
    }

    struct Me: ResponseCodable {
        var reseller: ResellerService.ResellerResponse
        var tier: ResellerService.TierResponse
        /// The tier paid sales lead to next, and how many more it takes; null at the top.
        var nextTier: ResellerService.TierResponse?
        var salesToNextTier: Int?
        var promoCodesLeft: Int
        var promoCodes: [PromoService.Response]
        var customers: Int
        var creditsDistributed: Credits
        var redemptions: Int
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("reseller")
        group.post("create") { request, context -> EditedResponse<ResellerService.ResellerResponse> in
            _ = try context.requireAdmin()
            let body = try await request.decode(as: CreateRequest.self, context: context)
            let reseller = try await resellers.create(userID: body.userId, tier: body.tier, companyName: body.companyName)
            return EditedResponse(status: .created, response: try await resellers.response(reseller))
        }
        group.post(":id/tier") { request, context -> ResellerService.ResellerResponse in
            _ = try context.requireAdmin()
            let body = try await request.decode(as: TierRequest.self, context: context)
            return try await resellers.response(
                try await resellers.setTier(try context.parameters.uuid("id", what: "Reseller"), to: body.tier))
        }
        group.get("list") { request, context -> ResellerList in
            _ = try context.requireAdmin()
            let (rows, total) = try await resellers.list(try Page(request))
            return ResellerList(
                resellers: try await resellers.responses(rows), total: total,
                tiers: try await resellers.tiers().map(ResellerService.TierResponse.init))
        }
        group.post("tier/update") { request, context -> ResellerService.TierResponse in
            _ = try context.requireAdmin()
            let change = try await request.decode(as: ResellerService.TierChange.self, context: context)
            let name = request.uri.queryParameters["tier_name"].map(String.init)
            return ResellerService.TierResponse(try await resellers.updateTier(name, with: change))
        }
        group.get("me") { _, context -> Me in
            try await me(try context.requireIdentity().userID)
        }
        group.post("promo/create") { request, context -> EditedResponse<PromoService.Response> in
            let identity = try context.requireIdentity()
            let draft = try await request.decode(as: PromoService.Draft.self, context: context)
            return EditedResponse(
                status: .created, response: PromoService.Response(try await resellers.createPromo(draft, by: identity.userID)))
        }
    }

    func me(_ userID: UUID) async throws -> Me {
        let reseller = try await resellers.reseller(of: userID)
        let tiers = try await resellers.tiers()
        guard let tier = tiers.first(where: { $0.id == reseller.tier }) else { throw APIError.notFound("Tier") }
        let next = tiers.first { $0.position > tier.position }
        let db = store.db
        let codes = try await PromoCode.query(on: db).filter(\.$resellerID == reseller.id!).sort(\.$createdAt, .descending).all()
        let log = try await ResellerPromoLog.query(on: db).filter(\.$resellerID == reseller.id!).all()
        return Me(
            reseller: try await resellers.response(reseller), tier: .init(tier), nextTier: next.map(ResellerService.TierResponse.init),
            salesToNextTier: next.map { max(0, $0.minSalesToQualify - reseller.totalPaidSales) },
            promoCodesLeft: max(0, tier.maxPromosPerReseller - codes.count), promoCodes: codes.map(PromoService.Response.init),
            customers: Set(log.map(\.userID)).count, creditsDistributed: Credits(micro: log.reduce(0) { $0 + $1.amount }),
            redemptions: log.count)
    }
}
