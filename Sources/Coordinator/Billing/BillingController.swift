import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationEssentialsCompat

/// `/billing/*`: the plan a user pays for and how, the payment webhooks, the token ledger.
struct BillingController {
    let billing: BillingService
    let idempotency: IdempotentCalls
    let logger: Logger
    let settings: DCDNSettings
    let store: DatabaseStore

    struct PlanOffer: ResponseCodable {
        var id: String
        var name: String
        var monthlyPrice: Credits?
        /// With the 15 % DCDN token discount.
        var tokenPrice: Credits?
    }

    struct SubscriptionResponse: ResponseCodable {
        var planId: String
        var method: String
        var status: String
        var currentPeriodEnd: Date
        var cancelAtPeriodEnd: Bool
        var graceEndsAt: Date?

        init(_ subscription: Subscription) {
            planId = subscription.planID
            method = subscription.method.rawValue
            status = subscription.status.rawValue
            currentPeriodEnd = subscription.currentPeriodEnd
            cancelAtPeriodEnd = subscription.cancelAtPeriodEnd
            graceEndsAt = subscription.graceEndsAt
        }
    }

    struct PaymentResponse: ResponseCodable {
        var id: UUID
        var kind: String
        var method: String
        var planId: String?
        var amount: Credits
        var listPrice: Credits
        var status: String
        var renewal: Bool
        var checkoutUrl: String?
        var createdAt: Date?
        var paidAt: Date?

        init(_ payment: Payment) {
            id = payment.id!
            kind = payment.kind.rawValue
            method = payment.method.rawValue
            planId = payment.planID
            amount = Credits(micro: payment.amount)
            listPrice = Credits(micro: payment.listPrice)
            status = payment.status.rawValue
            renewal = payment.renewal
            checkoutUrl = payment.status == .pending ? payment.checkoutURL : nil
            createdAt = payment.createdAt
            paidAt = payment.paidAt
        }
    }

    struct Overview: ResponseCodable {
        var plan: String
        var subscription: SubscriptionResponse?
        var plans: [PlanOffer]
        var payments: [PaymentResponse]
        var creditsPurchasable: Bool
        var tokenDiscountPercent: Int64
    }

    struct WebhookAnswer: ResponseCodable {
        var received: Bool
        var result: String
    }

    struct MintList: ResponseEncodable {
        var mints: [MintResponse]
        var total: Int
    }

    struct MintResponse: ResponseEncodable {
        var id: UUID
        var userId: UUID
        var source: String
        var reference: UUID
        var amount: Credits
        var split: TokenMintSplit
        var settledAt: Date?
        var createdAt: Date?
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("billing")
        group.get("") { _, context -> Overview in
            try await overview(of: try context.requireIdentity().user)
        }
        group.post("subscribe") { request, context -> EditedResponse<BillingService.SubscribeResponse> in
            let identity = try context.requireIdentity()
            let body = try await request.decode(as: BillingService.SubscribeRequest.self, context: context)
            let result = try await idempotency.run(request, user: identity.userID, route: "billing/subscribe") { key in
                try await billing.subscribe(body, user: identity.user, idempotencyKey: key)
            }
            return EditedResponse(status: .created, response: result)
        }
        group.post("cancel") { _, context -> SubscriptionResponse in
            SubscriptionResponse(try await billing.cancel(try context.requireIdentity().user))
        }
        group.post("stripe/webhook") { request, context -> WebhookAnswer in
            let (_, event) = try await verified(
                request, header: "Stripe-Signature", secret: settings.billing.stripeWebhookSecret)
            let result = try await billing.handleStripe(event: event)
            logger.info("stripe webhook", metadata: ["type": "\(event["type"] ?? "")", "result": "\(result)"])
            return WebhookAnswer(received: true, result: result)
        }
        group.post("token/webhook") { request, context -> WebhookAnswer in
            let (payload, _) = try await verified(
                request, header: "DCDN-Signature", secret: settings.billing.tokenWebhookSecret)
            let confirmation: BillingService.TokenConfirmation
            do {
                confirmation = try JSONDecoder.api.decode(BillingService.TokenConfirmation.self, from: payload)
            } catch {
                throw APIError.badRequest("The confirmation is not the expected JSON.", code: .malformedEvent)
            }
            return WebhookAnswer(received: true, result: try await billing.handleToken(confirmation))
        }
        group.get("admin/token-mints") { request, context -> MintList in
            _ = try context.requireAdmin()
            let page = try Page(request)
            let query = TokenMint.query(on: store.db)
            if request.uri.queryParameters["unsettled"] == "true" { query.filter(\.$settledAt == nil) }
            let total = try await query.count()
            let rows = try await query.sort(\.$createdAt, .descending).range(page.offset..<(page.offset + page.limit)).all()
            return MintList(
                mints: rows.map {
                    var split = TokenMintSplit(total: $0.amount)
                    split.nodeRewardPool = $0.nodeRewardPool
                    split.rspHolders = $0.rspHolders
                    split.rspTreasury = $0.rspTreasury
                    split.lpTreasury = $0.lpTreasury
                    return MintResponse(
                        id: $0.id!, userId: $0.userID, source: $0.source.rawValue, reference: $0.reference,
                        amount: Credits(micro: $0.amount),
                        split: split, settledAt: $0.settledAt, createdAt: $0.createdAt)
                }, total: total)
        }
    }

    /// The raw body, once its signature checks out, and its JSON.
    func verified(_ request: Request, header: String, secret: String?) async throws -> (Data, [String: Any]) {
        guard let secret, !secret.isEmpty else {
            // An endpoint the operator has not set up is absent, not failing: 404, so that senders
            // (and monitors) do not treat it as an outage.
            throw APIError(.notFound, code: .webhookNotConfigured, detail: "This webhook's signing secret is not configured.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 1 << 20)
        } catch {
            throw APIError(.contentTooLarge, code: .bodyTooLarge, detail: "The event is larger than 1 MiB.")
        }
        let payload = Data(buffer: buffer)
        guard let signature = request.headers[HTTPField.Name(header)!] else {
            throw APIError.badRequest("The \(header) header is missing.", code: .invalidSignature)
        }
        do {
            try WebhookSignature.verify(payload: payload, header: signature, secret: secret)
        } catch let failure as WebhookSignature.Failure {
            let reason =
                switch failure {
                case .malformedHeader: "the header is malformed"
                case .timestampOutsideTolerance: "its timestamp is more than 300 s away"
                case .noMatchingSignature: "no signature matches"
                }
            throw APIError.badRequest("The \(header) header does not verify: \(reason).", code: .invalidSignature)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: payload)) as? [String: Any] else {
            throw APIError.badRequest("The event is not a JSON object.", code: .malformedEvent)
        }
        return (payload, object)
    }

    func overview(of user: User) async throws -> Overview {
        let db = store.db
        let plans = try await Plan.query(on: db).sort(\.$position).all()
        let payments = try await Payment.query(on: db).filter(\.$userID == user.id!).sort(\.$createdAt, .descending).limit(50).all()
        return Overview(
            plan: user.planID, subscription: try await Subscription.find(user.id!, on: db).map(SubscriptionResponse.init),
            plans: plans.map {
                PlanOffer(
                    id: $0.id!, name: $0.name, monthlyPrice: $0.monthlyPriceMicro.map { Credits(micro: $0) },
                    tokenPrice: $0.monthlyPriceMicro.map { Credits(micro: BillingService.tokenPrice($0)) })
            },
            payments: payments.map(PaymentResponse.init), creditsPurchasable: settings.billing.creditsPurchasable,
            tokenDiscountPercent: BillingService.tokenDiscountPercent)
    }
}
