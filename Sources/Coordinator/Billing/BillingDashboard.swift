import DCDNCore
import FluentKit
import Foundation
import Hummingbird

/// Dashboard → Credits, Billing, Affiliate Program and Reseller: the customer's money pages.
struct BillingDashboard {
    let affiliates: AffiliateService
    let billing: BillingService
    let renderer: DashboardRenderer
    let ledger: CreditLedger
    let promos: PromoService
    let rateLimits: Coordinator.RateLimits
    let resellers: ResellerService
    let settings: DCDNSettings
    let store: DatabaseStore
    /// The API controllers whose answers these pages show.
    let credits: CreditsController
    let billingAPI: BillingController
    let resellerAPI: ResellerController

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        router.get("credits") { request, context in
            try await creditsPage(try context.requirePage(), request: request)
        }
        router.get("credits/export.csv") { _, context in
            try await credits.csv(of: try context.requirePage().userID)
        }
        router.post("credits/redeem") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await creditsPage(identity, request: request, error: $0, status: $1) }
            ) {
                try await rateLimits.promoRedeem.enforce(key: identity.userID.uuidString, what: "promo code attempts")
                _ = try await promos.redeem(form.string("code"), userID: identity.userID)
                return Response.redirect(to: "/dashboard/credits?notice=promo_redeemed")
            }
        }
        router.post("credits/buy") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await creditsPage(identity, request: request, error: $0, status: $1) }
            ) {
                let amount = Decimal(string: form.string("amount")).flatMap { Credits(decimal: $0) }
                let checkout = try await billing.buyCredits(
                    .init(package: form.string("package"), amount: amount), user: identity.user)
                return Response.redirect(to: checkout.checkoutUrl ?? "/dashboard/billing")
            }
        }
        router.get("billing") { request, context in
            try await billingPage(try context.requirePage(), request: request)
        }
        router.post("billing/subscribe") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await billingPage(identity, request: request, error: $0, status: $1) }
            ) {
                let result = try await billing.subscribe(
                    .init(planId: form.string("plan_id"), method: form.string("method")), user: identity.user,
                    idempotencyKey: "dashboard:\(UUID().uuidString)")
                if let url = result.checkoutUrl { return Response.redirect(to: url) }
                return Response.redirect(
                    to: "/dashboard/billing?notice=\(result.status == "paid" ? "plan_active" : "token_payment_pending")")
            }
        }
        router.post("billing/cancel") { request, context in
            let identity = try context.requirePage()
            return try await renderer.attempt(
                request, fallback: { try await billingPage(identity, request: request, error: $0, status: $1) }
            ) {
                _ = try await billing.cancel(identity.user)
                return Response.redirect(to: "/dashboard/billing?notice=plan_canceled")
            }
        }
        router.get("affiliate") { request, context in
            try await affiliatePage(try context.requirePage(), request: request)
        }
        router.post("affiliate/join") { _, context in
            _ = try await affiliates.join(try context.requirePage().userID)
            return Response.redirect(to: "/dashboard/affiliate")
        }
        router.post("affiliate/request-payout") { request, context in
            let identity = try context.requirePage()
            return try await renderer.attempt(
                request, fallback: { try await affiliatePage(identity, request: request, error: $0, status: $1) }
            ) {
                _ = try await affiliates.requestPayout(identity.userID)
                return Response.redirect(to: "/dashboard/affiliate?notice=payout_requested")
            }
        }
        router.get("reseller") { request, context in
            try await resellerPage(try context.requirePage(), request: request)
        }
        router.post("reseller/promo") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            return try await renderer.attempt(
                request, fallback: { try await resellerPage(identity, request: request, error: $0, status: $1) }
            ) {
                _ = try await resellers.createPromo(PromoService.Draft(form), by: identity.userID)
                return Response.redirect(to: "/dashboard/reseller?notice=promo_created")
            }
        }
    }

    static func date(_ date: Date?) -> String { date.map { DashboardRenderer.format($0) } ?? "never" }

    func creditsPage(_ identity: Identity, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let userID = identity.userID
        let balance = try await credits.balance(of: userID)
        let grants = try await ledger.activeGrants(of: userID)
        let transactions = try await CreditTransaction.query(on: store.db).filter(\.$userID == userID)
            .sort(\.$sequence, .descending).limit(100).all()
        let values: [String: Any] = [
            "balance": "\(balance.balance)", "totalGranted": "\(balance.totalGranted)", "totalUsed": "\(balance.totalUsed)",
            "totalExpired": "\(balance.totalExpired)", "activeGrants": balance.activeGrants,
            "inGrace": balance.status == "grace", "suspended": balance.status == "suspended", "graceEnds": Self.date(balance.graceEndsAt),
            "grants": grants.map {
                [
                    "amount": "\(Credits(micro: $0.amount))", "remaining": "\(Credits(micro: $0.remaining))", "source": $0.source.rawValue,
                    "description": $0.description, "expires": Self.date($0.expiresAt), "created": Self.date($0.createdAt),
                ]
            },
            "hasGrants": !grants.isEmpty,
            "transactions": transactions.map {
                [
                    "type": $0.kind.rawValue, "amount": "\(Credits(micro: $0.amount))", "after": "\(Credits(micro: $0.balanceAfter))",
                    "description": $0.description, "category": $0.category, "created": Self.date($0.createdAt), "negative": $0.amount < 0,
                ]
            },
            "hasTransactions": !transactions.isEmpty, "purchasable": settings.billing.creditsPurchasable,
            "chart": try await balanceChart(of: userID),
        ]
        return renderer.formPage("credits", title: "Credits", identity, request: request, error: error, status: status, values)
    }

    /// The balance at the end of each of the last 30 days and the credits used each day.
    func balanceChart(of userID: UUID, now: Date = Date()) async throws -> String {
        let day = 86_400.0
        let today = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / day).rounded(.down) * day)
        let starts = (0..<30).map { today.addingTimeInterval(Double($0 - 29) * day) }
        let db = store.db
        let before = try await CreditTransaction.query(on: db).filter(\.$userID == userID).filter(\.$createdAt < starts[0])
            .sort(\.$sequence, .descending).first()
        let window = try await CreditTransaction.query(on: db).filter(\.$userID == userID).filter(\.$createdAt >= starts[0])
            .sort(\.$sequence).all()
        var balance = before?.balanceAfter ?? 0
        var balances: [Int64] = []
        var used: [Int64] = []
        var index = 0
        for start in starts {
            var spent: Int64 = 0
            while index < window.count, let created = window[index].createdAt, created < start.addingTimeInterval(day) {
                balance = window[index].balanceAfter
                if window[index].kind == .spend { spent -= window[index].amount }
                index += 1
            }
            balances.append(balance / Credits.microPerCredit)
            used.append(spent / Credits.microPerCredit)
        }
        return TrafficChart(
            starts: starts,
            series: [
                .init(label: "Balance (credits)", style: "requests", values: balances),
                .init(label: "Used per day", style: "blocked", values: used),
            ], bucketSeconds: Int(day)
        ).svg()
    }

    func billingPage(_ identity: Identity, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let overview = try await billingAPI.overview(of: identity.user)
        var values: [String: Any] = [
            "plan": overview.plan,
            "plans": overview.plans.filter { ($0.monthlyPrice?.micro ?? 0) > 0 }.map {
                [
                    "id": $0.id, "name": $0.name, "price": "\($0.monthlyPrice!)", "tokenPrice": "\($0.tokenPrice!)",
                    "current": $0.id == overview.plan,
                ]
            },
            "payments": overview.payments.map {
                [
                    "what": $0.kind == "plan" ? "\($0.planId ?? "") plan\($0.renewal ? " (renewal)" : "")" : "credits", "method": $0.method,
                    "amount": "\($0.amount)", "status": $0.status, "created": Self.date($0.createdAt), "pending": $0.status == "pending",
                    "id": $0.id.uuidString.lowercased(), "checkoutUrl": $0.checkoutUrl ?? "",
                ]
            },
            "hasPayments": !overview.payments.isEmpty,
        ]
        if let subscription = overview.subscription, subscription.status != "canceled" {
            values["subscription"] = [
                "plan": subscription.planId, "method": subscription.method, "status": subscription.status,
                "periodEnd": Self.date(subscription.currentPeriodEnd), "canceling": subscription.cancelAtPeriodEnd,
                "graceEnds": Self.date(subscription.graceEndsAt), "inGrace": subscription.status == "grace",
            ]
        }
        return renderer.formPage("billing", title: "Billing", identity, request: request, error: error, status: status, values)
    }

    func affiliatePage(_ identity: Identity, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let board = try await affiliates.dashboard(identity.userID)
        let values: [String: Any] = [
            "joined": board.joined, "link": board.referralLink ?? "", "code": board.code ?? "", "referrals": board.totalReferrals,
            "paying": board.payingReferrals, "earned": "\(board.totalEarned)", "available": "\(board.availableBalance)",
            "canRequest": board.availableBalance >= board.minimumPayout, "minimum": "\(board.minimumPayout)",
            "commissions": board.commissions.map {
                [
                    "amount": "\($0.amount)", "percent": $0.percent, "payment": "\($0.paymentAmount)", "status": $0.status,
                    "created": Self.date($0.createdAt),
                ]
            },
            "payouts": board.payouts.map {
                ["amount": "\($0.amount)", "status": $0.status, "requested": Self.date($0.requestedAt), "paid": Self.date($0.paidAt)]
            },
            "hasCommissions": !board.commissions.isEmpty, "hasPayouts": !board.payouts.isEmpty,
        ]
        return renderer.formPage("affiliate", title: "Affiliate Program", identity, request: request, error: error, status: status, values)
    }

    func resellerPage(_ identity: Identity, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        let me = try await resellerAPI.me(identity.userID)
        let values: [String: Any] = [
            "company": me.reseller.companyName, "tier": me.tier.name, "badge": me.tier.badge, "creditPerUser": "\(me.tier.creditPerUser)",
            "sales": me.reseller.totalPaidSales, "nextTier": me.nextTier?.name ?? "", "salesToNext": me.salesToNextTier ?? 0,
            "hasNext": me.nextTier != nil, "codesLeft": me.promoCodesLeft, "customers": me.customers,
            "distributed": "\(me.creditsDistributed)", "redemptions": me.redemptions,
            "codes": me.promoCodes.map {
                [
                    "code": $0.code, "amount": "\($0.creditAmount)", "uses": $0.uses, "max": $0.maxUses.map(String.init) ?? "∞",
                    "active": $0.active, "expires": Self.date($0.expiresAt),
                ]
            },
            "hasCodes": !me.promoCodes.isEmpty,
        ]
        return renderer.formPage("reseller", title: "Reseller", identity, request: request, error: error, status: status, values)
    }
}
