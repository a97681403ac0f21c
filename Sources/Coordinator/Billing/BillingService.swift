import DCDNCore
import FluentKit
import FluentSQL
import Foundation
import Hummingbird
import Logging
import SQLKit

/// Plans and credits bought with money: Stripe Checkout, DCDN token payments, or credits; the
/// webhooks that confirm them; renewals. Whatever pays, delivery happens once, in
/// `fulfil(_:)`: it grants the bought credits or activates the plan, records the token mint,
/// and — for Stripe and token payments only — the affiliate commission and reseller sale.
public struct BillingService: Sendable {
    let store: DatabaseStore
    let settings: BillingSettings
    let ledger: CreditLedger
    let affiliates: AffiliateService
    let resellers: ResellerService
    let provider: any PaymentProvider
    let publicURL: String
    let logger: Logger

    /// Token payments get 15 % off; credits do not.
    static let tokenDiscountPercent: Int64 = 15
    /// Credit packages of the billing guide (a custom amount is $1 per credit).
    static let packages: [String: Int64] = ["starter": 10, "standard": 50, "pro": 100]

    static func tokenPrice(_ listPrice: Int64) -> Int64 { listPrice - listPrice * tokenDiscountPercent / 100 }

    // MARK: Buying credits

    public struct BuyRequest: ResponseCodable, Sendable {
        var package: String?
        var amount: Credits?
    }

    public struct CheckoutResponse: ResponseCodable, Sendable {
        var paymentId: UUID
        var checkoutUrl: String?
        var sessionId: String?
        var amount: Credits
        var credits: Credits?
        var status: String
    }

    public func buyCredits(_ request: BuyRequest, user: User) async throws -> CheckoutResponse {
        guard settings.creditsPurchasable else {
            throw APIError(
                .forbidden, code: .creditsNotPurchasable,
                detail: "Credits cannot be bought on this platform; they come from promo codes, resellers and admins.")
        }
        let credits: Credits
        if let name = request.package, name != "custom" {
            guard let whole = Self.packages[name.lowercased()] else {
                throw APIError.validation("package", "must be starter, standard, pro or custom")
            }
            credits = Credits(whole)
        } else {
            guard let amount = request.amount else { throw APIError.validation("amount", "is required for a custom amount") }
            guard amount >= Credits(1), amount <= Credits(10_000), amount.micro % 10_000 == 0 else {
                throw APIError.validation("amount", "must be from 1 to 10000 credits in whole cents")
            }
            credits = amount
        }
        let payment = Payment(
            userID: user.id!, kind: .credits, method: .stripe, credits: credits.micro, amount: credits.micro, listPrice: credits.micro)
        try await payment.create(on: store.db)
        let session = try await checkout(payment, product: "DCDN credits (\(credits))", recurring: false, user: user)
        return CheckoutResponse(
            paymentId: payment.id!, checkoutUrl: session.url, sessionId: session.id, amount: credits, credits: credits, status: "pending")
    }

    private func checkout(_ payment: Payment, product: String, recurring: Bool, user: User) async throws -> CheckoutSession {
        let session: CheckoutSession
        do {
            session = try await provider.createCheckout(
                CheckoutRequest(
                    paymentID: payment.id!, productName: product, amountCents: payment.amount / 10_000, recurringMonthly: recurring,
                    customerEmail: user.email, successURL: "\(publicURL)/dashboard/billing?notice=payment_received",
                    cancelURL: "\(publicURL)/dashboard/billing?notice=payment_canceled"))
        } catch {
            payment.status = .failed
            try? await payment.save(on: store.db)
            throw error
        }
        payment.providerReference = session.id
        payment.checkoutURL = session.url
        try await payment.save(on: store.db)
        return session
    }

    // MARK: Plans

    public struct SubscribeRequest: ResponseCodable, Sendable {
        var planId: String?
        var method: String?
    }

    public struct SubscribeResponse: ResponseCodable, Sendable {
        var paymentId: UUID
        var planId: String
        var method: String
        /// `paid` (credits: the plan is active now) or `pending` (pay at checkout_url, or send
        /// amount in DCDN tokens with payment_id as the reference).
        var status: String
        var amount: Credits
        var listPrice: Credits
        var discountPercent: Int64
        var checkoutUrl: String?
        var currentPeriodEnd: Date?
    }

    public func subscribe(_ request: SubscribeRequest, user: User, idempotencyKey: String, now: Date = Date()) async throws
        -> SubscribeResponse
    {
        guard let planID = request.planId?.lowercased(), !planID.isEmpty else { throw APIError.validation("plan_id", "is required") }
        guard let plan = try await Plan.find(planID, on: store.db) else { throw APIError.validation("plan_id", "is not a plan") }
        guard let price = plan.monthlyPriceMicro, price > 0 else {
            throw APIError.validation(
                "plan_id",
                plan.monthlyPriceMicro == nil
                    ? "\(plan.name) is arranged with the operator" : "\(plan.name) is free: cancel your plan instead")
        }
        guard let method = Payment.Method(rawValue: request.method ?? "") else {
            throw APIError.validation("method", "must be stripe, token or credits")
        }
        let payment = Payment(
            userID: user.id!, kind: .plan, method: method, planID: plan.id, amount: method == .token ? Self.tokenPrice(price) : price,
            listPrice: price)
        var response = SubscribeResponse(
            paymentId: UUID(), planId: plan.id!, method: method.rawValue, status: "pending", amount: Credits(micro: payment.amount),
            listPrice: Credits(micro: price), discountPercent: method == .token ? Self.tokenDiscountPercent : 0)
        switch method {
        case .credits:
            let paid = try await payWithCredits(plan, for: user.id!, renewal: false, key: idempotencyKey, now: now)
            response.paymentId = paid.payment
            response.status = "paid"
            response.currentPeriodEnd = paid.periodEnd
            return response
        case .stripe:
            try await payment.create(on: store.db)
            let session = try await checkout(payment, product: "DCDN \(plan.name) plan (monthly)", recurring: true, user: user)
            response.checkoutUrl = session.url
        case .token:
            try await payment.create(on: store.db)
        }
        response.paymentId = payment.id!
        return response
    }

    /// Buys a month of `plan` with credits, in one transaction: the spend (full price), the
    /// payment record, the plan. Throws 402 `insufficient_credits` when the balance is short.
    private func payWithCredits(_ plan: Plan, for userID: UUID, renewal: Bool, key: String, now: Date) async throws
        -> (payment: UUID, periodEnd: Date)
    {
        let price = plan.monthlyPriceMicro ?? 0
        return try await ledger.transaction { db in
            _ = try await ledger.spend(
                userID, price, category: "Plan: \(plan.name)", description: "\(plan.name) plan\(renewal ? " renewal" : ", one month")",
                key: key, partial: false, on: db, now: now)
            let payment = Payment(
                userID: userID, kind: .plan, method: .credits, planID: plan.id, amount: price, listPrice: price, status: .paid,
                renewal: renewal, paidAt: now)
            try await payment.create(on: db)
            return (payment.id!, try await activate(plan: plan.id!, for: userID, method: .credits, renewal: renewal, on: db, now: now))
        }
    }

    /// Stops renewal; the plan stays until the paid period ends.
    public func cancel(_ user: User) async throws -> Subscription {
        guard let subscription = try await Subscription.find(user.id!, on: store.db), subscription.status != .canceled else {
            throw APIError.conflict("There is no paid plan to cancel.", code: .noSubscription)
        }
        if let stripeID = subscription.stripeSubscriptionID { try await provider.cancelAtPeriodEnd(subscription: stripeID) }
        subscription.cancelAtPeriodEnd = true
        try await subscription.save(on: store.db)
        return subscription
    }

    /// Sets the plan (limits follow at once) and the paid period: paying again for the plan in
    /// force extends it by a month, another plan starts a new month now.
    @discardableResult
    func activate(
        plan planID: String, for userID: UUID, method: Payment.Method, renewal: Bool, stripeSubscription: String? = nil,
        on db: any Database, now: Date
    )
        async throws -> Date
    {
        let existing = try await Subscription.find(userID, on: db)
        let subscription = existing ?? Subscription()
        let start: Date =
            if let existing, existing.planID == planID, existing.status != .canceled { max(now, existing.currentPeriodEnd) } else {
                now
            }
        subscription.id = userID
        subscription.planID = planID
        subscription.method = method
        subscription.status = .active
        subscription.currentPeriodEnd = Calendar(identifier: .gregorian).date(byAdding: .month, value: 1, to: start)!
        subscription.cancelAtPeriodEnd = false
        subscription.graceEndsAt = nil
        if let stripeSubscription {
            subscription.stripeSubscriptionID = stripeSubscription
        } else if !renewal {
            subscription.stripeSubscriptionID = nil
        }
        try await subscription.save(on: db)
        if let user = try await User.find(userID, on: db), user.planID != planID {
            user.planID = planID
            try await user.save(on: db)
        }
        return subscription.currentPeriodEnd
    }

    // MARK: Confirmations

    /// Delivers a payment once: false when it was already delivered.
    @discardableResult
    func fulfil(
        _ paymentID: UUID, paidAmount: Int64? = nil, reference: String? = nil, stripeSubscription: String? = nil, now: Date = Date()
    )
        async throws -> Bool
    {
        try await ledger.transaction { db in
            guard
                let payment = try await db.sql.select().column("*").from(Payment.schema).where("id", .equal, SQLBind(paymentID)).for(
                    .update
                )
                .first()?.decode(fluentModel: Payment.self)
            else { throw APIError.notFound("Payment") }
            guard payment.status != .paid else { return false }
            if let paidAmount, paidAmount < payment.amount {
                throw APIError.validation(
                    "amount", "\(Credits(micro: paidAmount)) is less than the \(Credits(micro: payment.amount)) due for this payment")
            }
            payment.status = .paid
            payment.paidAt = now
            if let reference, payment.method == .token { payment.providerReference = reference }
            try await payment.save(on: db)
            try await deliver(payment, stripeSubscription: stripeSubscription, on: db, now: now)
            return true
        }
    }

    private func deliver(_ payment: Payment, stripeSubscription: String?, on db: any Database, now: Date) async throws {
        switch payment.kind {
        case .credits:
            _ = try await ledger.grant(
                .init(
                    userID: payment.userID, amount: Credits(micro: payment.creditsAmount), source: .purchase, category: "purchase",
                    description: "Credits bought (\(payment.method.rawValue))", idempotencyKey: "payment:\(payment.id!)"), on: db, now: now)
        case .plan:
            try await activate(
                plan: payment.planID!, for: payment.userID, method: payment.method, renewal: payment.renewal,
                stripeSubscription: stripeSubscription, on: db, now: now)
        }
        let source: TokenMint.Source = payment.method == .token ? .token : .stripe
        if payment.method != .credits {
            try await TokenMint.record(
                TokenMintSplit(total: payment.amount), userID: payment.userID, source: source, reference: payment.id!, on: db)
            try await affiliates.recordCommission(for: payment, on: db)
            try await resellers.recordPaidSale(by: payment.userID, on: db)
        }
    }

    /// Stripe's webhook, after its signature checked out. Returns what happened, for the log and the answer.
    func handleStripe(event: [String: Any], now: Date = Date()) async throws -> String {
        guard let id = event["id"] as? String, let type = event["type"] as? String,
            let object = (event["data"] as? [String: Any])?["object"] as? [String: Any]
        else { throw APIError.badRequest("Not a Stripe event.", code: .malformedEvent) }
        return try await once("stripe:\(id)", type: type) { try await handleStripe(type: type, object: object, now: now) }
    }

    private func handleStripe(type: String, object: [String: Any], now: Date) async throws -> String {
        switch type {
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            guard let payment = try await payment(forSession: object) else { return "unknown payment" }
            // Bank debits and the like complete unpaid and confirm later (async_payment_succeeded).
            guard object["payment_status"] as? String == "paid" else { return "awaiting payment" }
            let cents = (object["amount_total"] as? NSNumber)?.int64Value
            let delivered = try await fulfil(
                payment.id!, paidAmount: cents.map { $0 * 10_000 }, stripeSubscription: object["subscription"] as? String, now: now)
            return delivered ? "fulfilled" : "already fulfilled"
        case "checkout.session.async_payment_failed", "checkout.session.expired":
            guard let payment = try await payment(forSession: object), payment.status == .pending else { return "ignored" }
            payment.status = .failed
            try await payment.save(on: store.db)
            return "failed"
        case "invoice.paid":
            // The first invoice is the checkout's; later ones are monthly renewals.
            guard object["billing_reason"] as? String == "subscription_cycle", let stripeID = object["subscription"] as? String,
                let subscription = try await Subscription.query(on: store.db).filter(\.$stripeSubscriptionID == stripeID).first()
            else { return "ignored" }
            let paid = ((object["amount_paid"] as? NSNumber)?.int64Value ?? 0) * 10_000
            let payment = Payment(
                userID: subscription.id!, kind: .plan, method: .stripe, planID: subscription.planID, amount: paid, listPrice: paid,
                renewal: true)
            payment.providerReference = object["id"] as? String
            try await payment.create(on: store.db)
            try await fulfil(payment.id!, now: now)
            return "renewed"
        default:
            return "ignored"
        }
    }

    private func payment(forSession object: [String: Any]) async throws -> Payment? {
        let idText = ((object["metadata"] as? [String: Any])?["payment_id"] as? String) ?? (object["client_reference_id"] as? String)
        if let idText, let id = UUID(uuidString: idText), let payment = try await Payment.find(id, on: store.db) { return payment }
        guard let session = object["id"] as? String else { return nil }
        return try await Payment.query(on: store.db).filter(\.$providerReference == session).first()
    }

    /// Handles a notification once: a second delivery of `id` answers "duplicate". A failure
    /// forgets it again, so the sender's retry gets another try.
    private func once(_ id: String, type: String, _ handle: () async throws -> String) async throws -> String {
        if try await PaymentEvent.find(id, on: store.db) != nil { return "duplicate" }
        do {
            try await PaymentEvent(id: id, type: type).create(on: store.db)
        } catch {
            if try await PaymentEvent.find(id, on: store.db) != nil { return "duplicate" }
            throw error
        }
        do {
            return try await handle()
        } catch {
            try? await PaymentEvent.find(id, on: store.db)?.delete(on: store.db)
            throw error
        }
    }

    public struct TokenConfirmation: ResponseCodable, Sendable {
        var paymentId: UUID?
        var chain: String?
        var txHash: String?
        /// The USD value the transaction paid.
        var amount: Credits?
    }

    /// The chain watcher's confirmation that a token payment arrived.
    func handleToken(_ confirmation: TokenConfirmation, now: Date = Date()) async throws -> String {
        guard let paymentID = confirmation.paymentId else { throw APIError.validation("payment_id", "is required") }
        guard let chain = confirmation.chain, (1...32).contains(chain.count), PromoService.sanitize(chain) == chain else {
            throw APIError.validation("chain", "is required (letters, digits, _ and -)")
        }
        guard let hash = confirmation.txHash, (8...128).contains(hash.count), PromoService.sanitize(hash) == hash else {
            throw APIError.validation("tx_hash", "is required (the transaction hash)")
        }
        guard let amount = confirmation.amount, amount.micro > 0 else { throw APIError.validation("amount", "must be positive") }
        guard let payment = try await Payment.find(paymentID, on: store.db), payment.method == .token else {
            throw APIError.notFound("Token payment")
        }
        let reference = "token:\(chain.lowercased()):\(hash.lowercased())"
        return try await once(reference, type: "token.payment") {
            try await fulfil(paymentID, paidAmount: amount.micro, reference: reference, now: now) ? "fulfilled" : "already fulfilled"
        }
    }

    // MARK: Renewals

    /// Renews, puts into grace, or ends subscriptions whose period is over (the renewal job).
    /// Each is one item of `round`: the renewal at a period's end; while in grace, a credit
    /// payer's retry once per round, and for other payers the end of grace once it has come.
    public func renewDue(now: Date = Date(), round: JobRound? = nil) async throws {
        let due = try await Subscription.query(on: store.db).filter(\.$status != .canceled).filter(\.$currentPeriodEnd <= now).limit(500)
            .all()
        for listed in due {
            let item = Self.renewalItem(listed, now: now, round: round?.number ?? 0)
            guard let item else { continue }
            try await round.run(item) {
                // Read again under the claim: the state the item names may have moved on.
                guard let subscription = try await Subscription.find(listed.id, on: store.db), subscription.status != .canceled,
                    Self.renewalItem(subscription, now: now, round: round?.number ?? 0) == item
                else { return }
                try await renew(subscription, now: now)
            }
        }
    }

    /// The due occurrence a subscription is at, or nil when nothing is due yet.
    static func renewalItem(_ subscription: Subscription, now: Date, round: Int64) -> String? {
        let period = "\(subscription.id!):\(JobClaims.millis(subscription.currentPeriodEnd))"
        guard subscription.status == .grace else { return period }
        if subscription.method == .credits { return "\(period):retry:\(round)" }
        guard let ends = subscription.graceEndsAt, ends <= now else { return nil }
        return "\(period):end"
    }

    private func renew(_ subscription: Subscription, now: Date) async throws {
        let userID = subscription.id!
        if subscription.cancelAtPeriodEnd { return try await end(subscription) }
        if subscription.status == .grace, let ends = subscription.graceEndsAt, ends <= now, subscription.method != .credits {
            return try await end(subscription)
        }
        switch subscription.method {
        case .credits:
            guard let plan = try await Plan.find(subscription.planID, on: store.db), (plan.monthlyPriceMicro ?? 0) > 0 else {
                return try await end(subscription)
            }
            let period = Int64(subscription.currentPeriodEnd.timeIntervalSince1970)
            do {
                _ = try await payWithCredits(plan, for: userID, renewal: true, key: "renewal:\(plan.id!):\(period)", now: now)
            } catch let error as APIError where error.code == .insufficientCredits {
                try await startGrace(subscription, now: now)
                if let ends = subscription.graceEndsAt, ends <= now { try await end(subscription) }
            }
        case .stripe, .token:
            // Stripe renews by itself (invoice.paid); a token payer pays again. Until then: grace.
            try await startGrace(subscription, now: now)
        }
    }

    private func startGrace(_ subscription: Subscription, now: Date) async throws {
        guard subscription.status != .grace else { return }
        subscription.status = .grace
        subscription.graceEndsAt = subscription.currentPeriodEnd.addingTimeInterval(TimeInterval(settings.graceHours) * 3600)
        try await subscription.save(on: store.db)
    }

    /// Back to the free plan.
    private func end(_ subscription: Subscription) async throws {
        subscription.status = .canceled
        try await subscription.save(on: store.db)
        if let user = try await User.find(subscription.id!, on: store.db) {
            user.planID = PlanCatalog.defaultPlanID
            try await user.save(on: store.db)
        }
        logger.info("subscription ended", metadata: ["user": "\(subscription.id!)", "plan": "\(subscription.planID)"])
    }
}
