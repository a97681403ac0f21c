import DCDNCore
import FluentKit
import Foundation
import Hummingbird

/// Dashboard → Admin → Credits & promo codes, and Admin → Resellers & tiers.
struct CreditsAdminDashboard {
    let affiliates: AffiliateService
    let renderer: DashboardRenderer
    let ledger: CreditLedger
    let promos: PromoService
    let resellers: ResellerService
    let store: DatabaseStore
    /// Its grant and overview answers, shared with the Credits API.
    let credits: CreditsController

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("admin/credits") { request, context in
            try await creditsPage(try context.requireAdminPage(), request: request)
        }
        router.post("admin/credits/grant") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await creditsPage(identity, request: request, error: $0, status: $1) }
            ) {
                let users = try await self.users(form.string("users"))
                let body = CreditsController.GrantRequest(
                    userIds: users, amount: Decimal(string: form.string("amount")).flatMap { Credits(decimal: $0) },
                    campaign: form["campaign"],
                    description: form["description"], expiresInDays: Int(form.string("expires_in_days")))
                guard users.count <= 500 else { throw APIError.validation("users", "may list at most 500 users") }
                _ = try await credits.grant(body, to: users, by: identity.userID, key: "dashboard:\(UUID().uuidString)")
                return Response.redirect(to: "/dashboard/admin/credits?notice=credits_granted")
            }
        }
        router.post("admin/credits/revoke") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await creditsPage(identity, request: request, error: $0, status: $1) }
            ) {
                guard let user = try await self.users(form.string("user")).first else { throw APIError.validation("user", "is required") }
                try await ledger.revoke(
                    user, amount: Decimal(string: form.string("amount")).flatMap { Credits(decimal: $0) }, grantID: nil,
                    reason: try CreditsController.text(form["reason"], "reason") ?? "Revoked by an admin",
                    idempotencyKey: "dashboard:\(UUID().uuidString)")
                return Response.redirect(to: "/dashboard/admin/credits?notice=credits_revoked")
            }
        }
        router.post("admin/promo") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await creditsPage(identity, request: request, error: $0, status: $1) }
            ) {
                _ = try await promos.create(PromoService.Draft(form), by: identity.userID)
                return Response.redirect(to: "/dashboard/admin/credits?notice=promo_created")
            }
        }
        router.post("admin/promo/:id/toggle") { _, context in
            _ = try context.requireAdminPage()
            _ = try await promos.toggle(try context.parameters.uuid("id", what: "Promo code"))
            return Response.redirect(to: "/dashboard/admin/credits?notice=promo_toggled")
        }
        router.post("admin/payouts/:id/paid") { _, context in
            _ = try context.requireAdminPage()
            _ = try await affiliates.markPaid(try context.parameters.uuid("id", what: "Payout"))
            return Response.redirect(to: "/dashboard/admin/credits?notice=payout_paid")
        }
        router.get("admin/resellers") { request, context in
            try await resellersPage(try context.requireAdminPage(), request: request)
        }
        router.post("admin/resellers") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await resellersPage(identity, request: request, error: $0, status: $1) }
            ) {
                let user = try await self.users(form.string("user")).first
                _ = try await resellers.create(userID: user, tier: form["tier"], companyName: form["company_name"])
                return Response.redirect(to: "/dashboard/admin/resellers?notice=reseller_created")
            }
        }
        router.post("admin/resellers/:id/tier") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await resellersPage(identity, request: request, error: $0, status: $1) }
            ) {
                _ = try await resellers.setTier(try context.parameters.uuid("id", what: "Reseller"), to: form["tier"])
                return Response.redirect(to: "/dashboard/admin/resellers?notice=reseller_updated")
            }
        }
        router.post("admin/tiers/:name") { request, context in
            let identity = try context.requireAdminPage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await resellersPage(identity, request: request, error: $0, status: $1) }
            ) {
                _ = try await resellers.updateTier(
                    context.parameters.get("name"),
                    with: .init(
                        creditPerUser: Decimal(string: form.string("credit_per_user")).flatMap { Credits(decimal: $0) },
                        maxPromosPerReseller: Int(form.string("max_promos_per_reseller")),
                        minSalesToQualify: Int(form.string("min_sales_to_qualify"))))
                return Response.redirect(to: "/dashboard/admin/resellers?notice=tier_updated")
            }
        }
    }

    /// Users named by email or ID, separated by commas, spaces or lines.
    func users(_ text: String) async throws -> [UUID] {
        let items = text.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        guard !items.isEmpty else { throw APIError.validation("users", "name at least one user by email or ID") }
        var ids: [UUID] = []
        for item in items {
            if let id = UUID(uuidString: item) {
                ids.append(id)
            } else if let user = try await User.query(on: store.db).filter(\.$email == item.lowercased()).first() {
                ids.append(user.id!)
            } else {
                throw APIError.validation("users", "no user with the email \(item)")
            }
        }
        return ids
    }

    func creditsPage(_ identity: Identity, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let overview = try await credits.overview()
        let (codes, _) = try await promos.list(try Page(request))
        let (payouts, _) = try await affiliates.payouts(try Page(request))
        let payees = try await User.query(on: store.db).filter(\.$id ~~ payouts.map(\.affiliateUserID)).all()
        let emails = Dictionary(payees.map { ($0.id!, $0.email) }, uniquingKeysWith: { a, _ in a })
        let values: [String: Any] = [
            "accounts": overview.accounts, "outstanding": "\(overview.totalBalance)", "granted": "\(overview.totalGranted)",
            "used": "\(overview.totalUsed)", "expired": "\(overview.totalExpired)", "revoked": "\(overview.totalRevoked)",
            "expiring": "\(overview.expiringWithin30Days)", "grace": overview.accountsInGrace,
            "minted": "\(overview.tokenMints.total)", "nodePool": "\(overview.tokenMints.nodeRewardPool)",
            "rsp": "\(overview.tokenMints.rspHolders + overview.tokenMints.rspTreasury)", "lp": "\(overview.tokenMints.lpTreasury)",
            "codes": codes.map {
                [
                    "id": $0.id!.uuidString.lowercased(), "code": $0.code, "amount": "\(Credits(micro: $0.creditAmount))", "uses": $0.uses,
                    "max": $0.maxUses.map(String.init) ?? "∞", "perUser": $0.perUserLimit, "campaign": $0.campaign ?? "",
                    "expires": BillingDashboard.date($0.expiresAt), "active": $0.active, "reseller": $0.resellerID != nil,
                ]
            },
            "hasCodes": !codes.isEmpty,
            "payouts": payouts.map {
                [
                    "id": $0.id!.uuidString.lowercased(), "amount": "\(Credits(micro: $0.amount))",
                    "affiliate": emails[$0.affiliateUserID] ?? "",
                    "requested": BillingDashboard.date($0.requestedAt), "paid": $0.status == .paid,
                ]
            },
            "hasPayouts": !payouts.isEmpty,
        ]
        return renderer.formPage(
            "admin-credits", title: "Credits & promo codes", identity, request: request, error: error, status: status, values)
    }

    func resellersPage(_ identity: Identity, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let (rows, _) = try await resellers.list(try Page(request))
        let tiers = try await resellers.tiers()
        let resellers: [[String: Any]] = try await resellers.responses(rows).map { response in
            [
                "id": response.id.uuidString.lowercased(), "company": response.companyName, "email": response.email ?? "",
                "sales": response.totalPaidSales, "codes": response.promoCodes,
                "tiers": tiers.map { ["name": $0.id!, "selected": $0.id == response.tier] },
            ]
        }
        let values: [String: Any] = [
            "resellers": resellers, "hasResellers": !resellers.isEmpty,
            "tiers": tiers.map {
                [
                    "name": $0.id!, "badge": $0.badge, "creditPerUser": "\(Credits(micro: $0.creditPerUser))",
                    "minSales": $0.minSalesToQualify,
                    "maxPromos": $0.maxPromosPerReseller,
                ]
            },
        ]
        return renderer.formPage(
            "admin-resellers", title: "Resellers & tiers", identity, request: request, error: error, status: status, values)
    }
}
