import DCDNCore
import FluentKit
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import Coordinator

@Suite("Credits API, promo codes, resellers, payments and affiliates")
struct BillingTests {
    static let webhookSecret = "whsec_test_0123456789abcdef"
    static let tokenSecret = "token_watcher_secret_0123456789"
    static let settings = ["stripe_webhook_secret": webhookSecret, "token_webhook_secret": tokenSecret, "credits_purchasable": "true"]

    static func signed(_ object: [String: Any], secret: String = webhookSecret, at time: Date = Date(), header: String = "Stripe-Signature")
        throws -> (ByteBuffer, HTTPFields)
    {
        let payload = try JSONSerialization.data(withJSONObject: object)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[HTTPField.Name(header)!] = WebhookSignature.header(
            payload: payload, secret: secret, timestamp: Int64(time.timeIntervalSince1970))
        return (ByteBuffer(bytes: payload), headers)
    }

    static func post(_ client: some TestClientProtocol, _ path: String, _ signed: (ByteBuffer, HTTPFields)) async throws
        -> JSONResponse
    {
        try await client.execute(uri: path, method: .post, headers: signed.1, body: signed.0) {
            JSONResponse(status: $0.status, headers: $0.headers, text: String(buffer: $0.body))
        }
    }

    /// What a webhook answered it did with the event (`fulfilled`, `duplicate`, …).
    static func result(_ answer: JSONResponse) throws -> String {
        let decoded = try answer.decode(BillingController.WebhookAnswer.self)
        #expect(decoded.received)
        return decoded.result
    }

    static func balance(_ client: some TestClientProtocol, _ jwt: String) async throws -> Credits {
        try await client.json(.get, "/api/v1/credits/balance", token: jwt).decode(CreditsController.BalanceResponse.self).balance
    }

    static func subscribe(_ client: some TestClientProtocol, _ plan: String, _ method: String, token: String) async throws
        -> BillingService.SubscribeResponse
    {
        let response = try await client.json(.post, "/api/v1/billing/subscribe", ["plan_id": plan, "method": method], token: token)
        #expect(response.status == .created, "\(response.text)")
        return try response.decode()
    }

    @Test("balance, grants, transactions, history and CSV; admin grant, bulk, revoke, overview, user detail")
    func creditsAPI() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (jwt, id) = try await client.signUp(app, email: "credits@example.com")
            let empty = try await client.json(.get, "/api/v1/credits/balance", token: jwt).decode(CreditsController.BalanceResponse.self)
            #expect(empty.balance == .zero && empty.status == "active")
            #expect(try await client.json(.post, "/api/v1/credits/grant", ["user_id": id, "amount": 5], token: jwt).status == .forbidden)

            let granted = try await client.json(
                .post, "/api/v1/credits/grant",
                ["user_id": id, "amount": 100, "campaign": "launch_promo_2026", "description": "Launch bonus", "expires_in_days": 90],
                token: admin, headers: [IdempotentCalls.header: "grant-1"])
            #expect(granted.status == .created, "\(granted.text)")
            let grant = try granted.decode(CreditsController.GrantResult.self)
            #expect(grant.newBalance == Credits(100) && grant.amount == Credits(100) && grant.expiresAt != nil)
            let replay = try await client.json(
                .post, "/api/v1/credits/grant", ["user_id": id, "amount": 100], token: admin, headers: [IdempotentCalls.header: "grant-1"])
            #expect(
                try replay.decode(CreditsController.GrantResult.self).transactionId == grant.transactionId,
                "a retried grant is answered, not repeated")
            let reused = try await client.json(
                .post, "/api/v1/credits/revoke", ["user_id": id, "amount": 1], token: admin, headers: [IdempotentCalls.header: "grant-1"])
            #expect(reused.status == .unprocessableContent && reused.error?.field == "Idempotency-Key")
            for (body, field) in [
                (["user_id": id, "amount": 0], "amount"), (["user_id": id, "amount": 1.0000001], "amount"),
                (["user_id": UUID().uuidString, "amount": 1], "user_id"),
                (["user_id": id, "amount": 1, "expires_in_days": 0], "expires_in_days"),
                (["user_id": id, "amount": 1, "campaign": "<script>"], "campaign"),
            ] as [([String: Any], String)] {
                let rejected = try await client.json(.post, "/api/v1/credits/grant", body, token: admin)
                #expect(rejected.status == .unprocessableContent && rejected.error?.field == field, "\(rejected.text)")
            }
            let tooMany = try await client.json(
                .post, "/api/v1/credits/grant/bulk", ["user_ids": (0...500).map { _ in UUID().uuidString }, "amount": 1], token: admin)
            #expect(tooMany.status == .unprocessableContent && tooMany.error?.field == "user_ids")
            let (_, other) = try await client.signUp(app, email: "other@example.com")
            let bulk = try await client.json(
                .post, "/api/v1/credits/grant/bulk", ["user_ids": [id, other, id], "amount": 50, "campaign": "early_adopters"], token: admin
            )
            #expect(bulk.status == .created)
            let bulkResult = try bulk.decode(CreditsController.BulkResult.self)
            #expect(bulkResult.granted == 2 && Set(bulkResult.results.map(\.userId)).count == 2, "a user listed twice is granted once")
            let revoked = try await client.json(
                .post, "/api/v1/credits/revoke", ["user_id": id, "amount": 20, "reason": "=cmd|calc"], token: admin)
            let revocation = try revoked.decode(CreditsController.TransactionResponse.self)
            #expect(revocation.txType == "revoke" && revocation.balanceAfter == Credits(130))
            let overdraw = try await client.json(.post, "/api/v1/credits/revoke", ["user_id": id, "amount": 1000], token: admin)
            #expect(overdraw.status.code == 402 && overdraw.error?.code == "insufficient_credits")

            let balance = try await client.json(.get, "/api/v1/credits/balance", token: jwt).decode(CreditsController.BalanceResponse.self)
            #expect(balance.balance == Credits(130) && balance.totalGranted == Credits(150) && balance.activeGrants == 2)
            let grants = try await client.json(.get, "/api/v1/credits/grants", token: jwt).decode(CreditsController.GrantList.self)
            #expect(grants.total == 2 && grants.grants.first?.campaign == "launch_promo_2026")
            let transactions = try await client.json(.get, "/api/v1/credits/transactions?limit=2", token: jwt).decode(
                CreditsController.TransactionList.self)
            #expect(transactions.total == 3 && transactions.transactions.count == 2)
            #expect(transactions.transactions.first?.txType == "revoke", "newest first")
            let history = try await client.json(.get, "/api/v1/credits/history?offset=2", token: jwt).decode(
                CreditsController.HistoryList.self)
            #expect(history.history.first?.description == "Launch bonus")
            #expect(try await client.json(.get, "/api/v1/credits/transactions?tx_type=steal", token: jwt).status == .unprocessableContent)
            let csv = try await client.execute(
                uri: "/api/v1/credits/transactions/export", method: .get, headers: [.authorization: "Bearer \(jwt)"]
            ) {
                ($0.headers[.contentType], String(buffer: $0.body))
            }
            #expect(csv.0?.hasPrefix("text/csv") == true)
            let lines = csv.1.split(separator: "\r\n")
            #expect(lines.count == 4 && lines[0] == "id,created_at,tx_type,amount,balance_after,category,description")
            #expect(lines[1].hasSuffix(",'=cmd|calc"), "formula-looking cells are defused: \(lines[1])")

            let overview = try await client.json(.get, "/api/v1/credits/admin/overview", token: admin).decode(
                CreditsController.Overview.self)
            #expect(overview.totalBalance == Credits(180) && overview.accounts == 2)
            #expect(try await client.json(.get, "/api/v1/credits/admin/overview", token: jwt).status == .forbidden)
            let detail = try await client.json(.get, "/api/v1/credits/admin/user/\(id)", token: admin).decode(
                CreditsController.UserDetail.self)
            #expect(detail.balance.balance == Credits(130) && detail.user.id.uuidString == id)
            #expect(try await client.json(.get, "/api/v1/credits/admin/user/\(UUID())", token: admin).status == .notFound)
            // Buying is off unless the operator turns it on.
            let buy = try await client.json(.post, "/api/v1/credits/buy", ["package": "starter"], token: jwt)
            #expect(buy.status == .forbidden && buy.error?.code == "credits_not_purchasable")
        }
    }

    @Test("promo codes: limits, expiry, sanitised input, 5 attempts a minute, disabled codes")
    func promoCodes() async throws {
        try await TestApp.run { app, client in
            let admin = try await client.signInAdmin(app)
            let (jwt, _) = try await client.signUp(app, email: "promo@example.com")
            let created = try await client.json(
                .post, "/api/v1/promo/create",
                [
                    "code": "LAUNCH50", "credit_amount": 50, "campaign": "launch_2026", "max_uses": 2, "per_user_limit": 1,
                    "expires_in_days": 30,
                    "credit_expires_in_days": 10,
                ], token: admin)
            #expect(created.status == .created, "\(created.text)")
            let promoID = try created.decode(PromoService.Response.self).id
            #expect(
                try await client.json(.post, "/api/v1/promo/create", ["code": "launch50", "credit_amount": 5], token: admin).error?.code
                    == "promo_code_exists")
            #expect(
                try await client.json(.post, "/api/v1/promo/create", ["code": "bad code!", "credit_amount": 5], token: admin).error?
                    .field == "code")
            #expect(
                try await client.json(.post, "/api/v1/promo/create", ["code": "X50", "credit_amount": 5], token: jwt).status == .forbidden)

            // Input is reduced to [A-Za-z0-9_-] and matched without regard to case.
            let redeemed = try await client.json(.post, "/api/v1/promo/redeem", ["code": " launch50<>\n"], token: jwt).decode(
                PromoService.Redemption.self)
            #expect(
                redeemed.ok && redeemed.code == "LAUNCH50" && redeemed.creditsReceived == Credits(50) && redeemed.newBalance == Credits(50))
            #expect(redeemed.expiresAt != nil, "credits from this code expire")
            let twice = try await client.json(.post, "/api/v1/promo/redeem", ["code": "LAUNCH50"], token: jwt)
            #expect(twice.status == .conflict && twice.error?.code == "promo_code_already_redeemed")
            let (second, _) = try await client.signUp(app, email: "promo2@example.com")
            #expect(try await client.json(.post, "/api/v1/promo/redeem", ["code": "LAUNCH50"], token: second).status == .ok)
            let (third, _) = try await client.signUp(app, email: "promo3@example.com")
            #expect(
                try await client.json(.post, "/api/v1/promo/redeem", ["code": "LAUNCH50"], token: third).error?.code == "promo_code_used_up"
            )
            #expect(try await client.json(.post, "/api/v1/promo/redeem", ["code": "NOPE"], token: third).status == .notFound)

            let toggled = try await client.json(.post, "/api/v1/promo/\(promoID)/toggle", token: admin).decode(PromoService.Response.self)
            #expect(toggled.id == promoID && toggled.active == false)
            let list = try await client.json(.get, "/api/v1/promo/list", token: admin).decode(PromoController.PromoList.self)
            #expect(list.total == 1 && list.promoCodes.first?.uses == 2)
            _ = try await client.json(.post, "/api/v1/promo/create", ["code": "OFF", "credit_amount": 1], token: admin)
            _ = try await client.json(.post, "/api/v1/promo/\(try #require(list.promoCodes.first).id)/toggle", token: admin)
            // Expired codes refuse.
            let old = try await app.coordinator.promos.create(
                .init(code: "OLD", creditAmount: Credits(1), expiresInDays: 1), by: UUID(), now: Date().addingTimeInterval(-2 * 86_400))
            #expect(old.expiresAt! < Date())
            // The third user has used 2 of 5 attempts this minute (used up, not found).
            #expect(try await client.json(.post, "/api/v1/promo/redeem", ["code": "OLD"], token: third).error?.code == "promo_code_expired")
            #expect(try await client.json(.post, "/api/v1/promo/redeem", ["code": "x"], token: third).status == .notFound)
            #expect(try await client.json(.post, "/api/v1/promo/redeem", ["code": "x"], token: third).status == .notFound)
            let limited = try await client.json(.post, "/api/v1/promo/redeem", ["code": "x"], token: third)
            #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] != nil)
            try await CreditsTests.expectConsistent(app)
        }
    }

    @Test("resellers: tiers, code limits, no self-redemption, progression on paid sales only")
    func resellers() async throws {
        let stripe = StripeStandIn()
        try await stripe.run { provider in
            try await TestApp.run(.coordinator, Self.settings, paymentProvider: provider) { app, client in
                let admin = try await client.signInAdmin(app)
                let (partner, partnerID) = try await client.signUp(app, email: "partner@example.com")
                #expect(try await client.json(.get, "/api/v1/reseller/me", token: partner).error?.code == "not_reseller")
                let created = try await client.json(
                    .post, "/api/v1/reseller/create", ["user_id": partnerID, "tier": "base", "company_name": "WebHosting Ltd."],
                    token: admin)
                #expect(created.status == .created, "\(created.text)")
                let reseller = try created.decode(ResellerService.ResellerResponse.self)
                #expect(reseller.tier == "base" && reseller.userId.uuidString == partnerID && reseller.companyName == "WebHosting Ltd.")
                let resellerID = reseller.id
                #expect(
                    try await client.json(.post, "/api/v1/reseller/create", ["user_id": partnerID, "company_name": "Again"], token: admin)
                        .status == .conflict)
                #expect(
                    try await client.json(
                        .post, "/api/v1/reseller/create", ["user_id": partnerID, "tier": "platinum", "company_name": "X"], token: admin
                    ).error?.field == "tier")

                let tooMuch = try await client.json(
                    .post, "/api/v1/reseller/promo/create", ["code": "WEBHOST50", "credit_amount": 50, "max_uses": 200], token: partner)
                #expect(
                    tooMuch.status == .unprocessableContent && tooMuch.error?.field == "credit_amount", "base allows 25 per customer")
                let code = try await client.json(
                    .post, "/api/v1/reseller/promo/create",
                    ["code": "WEBHOST25", "credit_amount": 25, "max_uses": 200, "expires_in_days": 60],
                    token: partner)
                #expect(code.status == .created, "\(code.text)")
                let resellerCode = try code.decode(PromoService.Response.self)
                #expect(resellerCode.creditExpiresInDays == nil && resellerCode.resellerId == resellerID)
                let own = try await client.json(.post, "/api/v1/promo/redeem", ["code": "WEBHOST25"], token: partner)
                #expect(own.status == .forbidden && own.error?.code == "own_promo_code")

                let updated = try await client.json(
                    .post, "/api/v1/reseller/tier/update?tier_name=base",
                    ["credit_per_user": 30, "max_promos_per_reseller": 1, "min_sales_to_qualify": 0], token: admin
                ).decode(ResellerService.TierResponse.self)
                #expect(updated.name == "base" && updated.creditPerUser == Credits(30) && updated.maxPromosPerReseller == 1)
                let capped = try await client.json(
                    .post, "/api/v1/reseller/promo/create", ["code": "SECOND", "credit_amount": 5], token: partner)
                #expect(capped.status == .forbidden && capped.error?.code == "reseller_promo_limit")
                _ = try await client.json(.post, "/api/v1/reseller/tier/update?tier_name=bronze", ["min_sales_to_qualify": 1], token: admin)

                // A customer of the reseller pays with credits: no sale. Then by card: one sale, bronze.
                let (customer, _) = try await client.signUp(app, email: "customer@example.com")
                let customerRedeem = try await client.json(.post, "/api/v1/promo/redeem", ["code": "webhost25"], token: customer)
                #expect(customerRedeem.status == .ok, "\(customerRedeem.text)")
                // `expires_at` is always sent, null when the credits never expire.
                #expect(
                    try customerRedeem.decode(PromoService.Redemption.self).expiresAt == nil
                        && customerRedeem.text.contains(#""expires_at":null"#),
                    "reseller credits never expire: \(customerRedeem.text)")
                let byCredits = try await Self.subscribe(client, "standard", "credits", token: customer)
                #expect(byCredits.status == "paid", "\(byCredits)")
                var me = try await client.json(.get, "/api/v1/reseller/me", token: partner).decode(ResellerController.Me.self)
                #expect(me.reseller.totalPaidSales == 0 && me.customers == 1)
                let paymentID = try await Self.subscribe(client, "pro", "stripe", token: customer).paymentId.uuidString
                let answer = try await Self.post(
                    client, "/api/v1/billing/stripe/webhook",
                    try Self.signed([
                        "id": "evt_1", "type": "checkout.session.completed",
                        "data": [
                            "object": [
                                "id": "cs_test_1", "payment_status": "paid", "amount_total": 1500, "metadata": ["payment_id": paymentID],
                                "subscription": "sub_1",
                            ]
                        ],
                    ]))
                #expect(try answer.status == .ok && Self.result(answer) == "fulfilled", "\(answer.text)")
                me = try await client.json(.get, "/api/v1/reseller/me", token: partner).decode(ResellerController.Me.self)
                #expect(me.reseller.totalPaidSales == 1)
                #expect(me.tier.name == "bronze", "\(me)")
                let list = try await client.json(.get, "/api/v1/reseller/list", token: admin).decode(ResellerController.ResellerList.self)
                #expect(list.total == 1 && list.resellers.map(\.id) == [resellerID] && list.tiers.count == 4)
                let moved = try await client.json(.post, "/api/v1/reseller/\(resellerID)/tier", ["tier": "gold"], token: admin).decode(
                    ResellerService.ResellerResponse.self)
                #expect(moved.id == resellerID && moved.tier == "gold")
            }
        }
    }

    @Test("Stripe: checkout, signed webhooks, wrong signatures, replays and duplicates; plans change limits at once")
    func stripe() async throws {
        let stripe = StripeStandIn()
        try await stripe.run { provider in
            try await TestApp.run(.coordinator, Self.settings, paymentProvider: provider) { app, client in
                let (jwt, id) = try await client.signUp(app, email: "payer@example.com")
                let buy = try await client.json(
                    .post, "/api/v1/credits/buy", ["package": "standard"], token: jwt, headers: [IdempotentCalls.header: "buy-1"])
                #expect(buy.status == .created, "\(buy.text)")
                let bought = try buy.decode(BillingService.CheckoutResponse.self)
                #expect(bought.checkoutUrl == "https://checkout.stripe.test/c/pay/cs_test_1" && bought.status == "pending")
                #expect(bought.amount == Credits(50) && bought.credits == Credits(50))
                let again = try await client.json(
                    .post, "/api/v1/credits/buy", ["package": "standard"], token: jwt, headers: [IdempotentCalls.header: "buy-1"])
                #expect(
                    try again.decode(BillingService.CheckoutResponse.self).paymentId == bought.paymentId
                        && stripe.checkouts.count == 1)
                // What Stripe received, decoded from the wire.
                let checkout = try #require(stripe.checkouts.first)
                #expect(checkout.authorization == "Bearer \(StripeStandIn.secretKey)")
                #expect(checkout.form["mode"] == "payment" && checkout.form["line_items[0][price_data][unit_amount]"] == "5000")
                #expect(
                    checkout.form["line_items[0][price_data][currency]"] == "usd" && checkout.form["customer_email"] == "payer@example.com")
                #expect(
                    checkout.form["metadata[payment_id]"] == bought.paymentId.uuidString
                        && checkout.idempotencyKey == bought.paymentId.uuidString)
                #expect(try await client.json(.post, "/api/v1/credits/buy", ["amount": 0.001], token: jwt).error?.field == "amount")
                // Stripe refusing is a 502 naming Stripe's reason; the payment is marked failed, nothing is granted.
                stripe.fail(with: (402, "card_error", "Your card was declined."))
                let declined = try await client.json(.post, "/api/v1/credits/buy", ["package": "starter"], token: jwt)
                #expect(declined.status == .badGateway && declined.error?.code == "payment_provider_error")
                #expect(declined.text.contains("Your card was declined."))
                let failed = try await Payment.query(on: app.coordinator.store.db).filter(\.$status == .failed).all()
                #expect(failed.count == 1 && failed.first?.creditsAmount == Credits(10).micro)
                stripe.fail(with: nil)

                let paymentID = bought.paymentId.uuidString
                let event: [String: Any] = [
                    "id": "evt_credits", "type": "checkout.session.completed",
                    "data": [
                        "object": ["id": "cs_test_1", "payment_status": "paid", "amount_total": 5000, "client_reference_id": paymentID]
                    ],
                ]
                // Wrong secret, tampered body, stale timestamp, no header: 400 and nothing delivered.
                var answer = try await Self.post(client, "/api/v1/billing/stripe/webhook", try Self.signed(event, secret: "whsec_wrong"))
                #expect(answer.status == .badRequest && answer.error?.code == "invalid_signature")
                var tampered = try Self.signed(event)
                tampered.0 = ByteBuffer(string: String(buffer: tampered.0).replacingOccurrences(of: "5000", with: "9000"))
                answer = try await Self.post(client, "/api/v1/billing/stripe/webhook", tampered)
                #expect(answer.status == .badRequest)
                answer = try await Self.post(
                    client, "/api/v1/billing/stripe/webhook", try Self.signed(event, at: Date().addingTimeInterval(-301)))
                #expect(answer.status == .badRequest && answer.error?.detail.contains("300") == true, "\(answer.text)")
                answer = try await Self.post(
                    client, "/api/v1/billing/stripe/webhook", (ByteBuffer(string: "{}"), [.contentType: "application/json"]))
                #expect(answer.status == .badRequest)
                #expect(try await Self.balance(client, jwt) == .zero)

                // A header with several v1 signatures (Stripe's secret rotation) passes when one matches.
                var rotated = try Self.signed(event)
                rotated.1[HTTPField.Name("Stripe-Signature")!] =
                    rotated.1[HTTPField.Name("Stripe-Signature")!]! + ",v1=" + String(repeating: "0", count: 64)
                answer = try await Self.post(client, "/api/v1/billing/stripe/webhook", rotated)
                #expect(try answer.status == .ok && Self.result(answer) == "fulfilled", "\(answer.text)")
                answer = try await Self.post(client, "/api/v1/billing/stripe/webhook", try Self.signed(event))
                #expect(try answer.status == .ok && Self.result(answer) == "duplicate", "\(answer.text)")
                var sameSession = event
                sameSession["id"] = "evt_other"
                answer = try await Self.post(client, "/api/v1/billing/stripe/webhook", try Self.signed(sameSession))
                #expect(try Self.result(answer) == "already fulfilled", "\(answer.text)")
                #expect(try await Self.balance(client, jwt) == Credits(50), "credits granted once")

                // A plan by card: the plan and its limits change when Stripe confirms, and renew on invoice.paid.
                let subscribe = try await Self.subscribe(client, "pro", "stripe", token: jwt)
                #expect(
                    subscribe.status == "pending" && stripe.checkouts.last?.form["mode"] == "subscription"
                        && stripe.checkouts.last?.form["line_items[0][price_data][recurring][interval]"] == "month")
                #expect(
                    try await client.json(.get, "/api/v1/account/limits", token: jwt).decode(PlansController.LimitsResponse.self).plan.id
                        == "free")
                answer = try await Self.post(
                    client, "/api/v1/billing/stripe/webhook",
                    try Self.signed([
                        "id": "evt_plan", "type": "checkout.session.completed",
                        "data": [
                            "object": [
                                "id": "cs_test_3", "payment_status": "paid", "amount_total": 1500, "subscription": "sub_42",
                                "metadata": ["payment_id": subscribe.paymentId.uuidString],
                            ]
                        ],
                    ]))
                #expect(try answer.status == .ok && Self.result(answer) == "fulfilled", "\(answer.text)")
                let limits = try await client.json(.get, "/api/v1/account/limits", token: jwt).decode(PlansController.LimitsResponse.self)
                #expect(limits.plan.id == "pro")
                let billing = try await client.json(.get, "/api/v1/billing", token: jwt).decode(BillingController.Overview.self)
                #expect(billing.plan == "pro")
                let subscription = try #require(billing.subscription)
                #expect(subscription.planId == "pro" && subscription.method == "stripe")
                let firstEnd = subscription.currentPeriodEnd
                answer = try await Self.post(
                    client, "/api/v1/billing/stripe/webhook",
                    try Self.signed([
                        "id": "evt_renew", "type": "invoice.paid",
                        "data": [
                            "object": ["id": "in_1", "billing_reason": "subscription_cycle", "subscription": "sub_42", "amount_paid": 1500]
                        ],
                    ]))
                #expect(try Self.result(answer) == "renewed", "\(answer.text)")
                let renewed = try await client.json(.get, "/api/v1/billing", token: jwt).decode(BillingController.Overview.self)
                #expect(try #require(renewed.subscription).currentPeriodEnd > firstEnd)
                // Every card payment minted tokens with the split.
                let mints = try await TokenMint.query(on: app.coordinator.store.db).filter(\.$userID == UUID(uuidString: id)!).all()
                #expect(mints.count == 3 && mints.allSatisfy { $0.source == .stripe })
                let cancel = try await client.json(.post, "/api/v1/billing/cancel", token: jwt).decode(
                    BillingController.SubscriptionResponse.self)
                #expect(cancel.cancelAtPeriodEnd == true && stripe.canceled == ["sub_42"])
            }
        }
    }

    @Test("token payments are 15 % off and confirmed by a signed watcher; credits pay full price; renewals and grace")
    func tokensAndRenewals() async throws {
        try await TestApp.run(.coordinator, Self.settings) { app, client in
            let admin = try await client.signInAdmin(app)
            let (jwt, id) = try await client.signUp(app, email: "token@example.com")
            let token = try await Self.subscribe(client, "pro", "token", token: jwt)
            #expect(token.amount == Credits(micro: 12_750_000) && token.discountPercent == 15 && token.status == "pending")
            #expect(token.listPrice == Credits(15) && token.planId == "pro" && token.method == "token")
            let paymentID = token.paymentId.uuidString
            let confirmation: [String: Any] = ["payment_id": paymentID, "chain": "base", "tx_hash": "0xabcdef0123456789", "amount": 12.75]
            var answer = try await Self.post(
                client, "/api/v1/billing/token/webhook", try Self.signed(confirmation, secret: "nope", header: "DCDN-Signature"))
            #expect(answer.status == .badRequest)
            var short = confirmation
            short["amount"] = 10
            short["tx_hash"] = "0xshortpayment0001"
            answer = try await Self.post(
                client, "/api/v1/billing/token/webhook", try Self.signed(short, secret: Self.tokenSecret, header: "DCDN-Signature"))
            #expect(answer.status == .unprocessableContent, "underpaid: \(answer.text)")
            answer = try await Self.post(
                client, "/api/v1/billing/token/webhook", try Self.signed(confirmation, secret: Self.tokenSecret, header: "DCDN-Signature"))
            #expect(try answer.status == .ok && Self.result(answer) == "fulfilled", "\(answer.text)")
            answer = try await Self.post(
                client, "/api/v1/billing/token/webhook", try Self.signed(confirmation, secret: Self.tokenSecret, header: "DCDN-Signature"))
            #expect(try Self.result(answer) == "duplicate", "\(answer.text)")
            #expect(try await client.json(.get, "/api/v1/billing", token: jwt).decode(BillingController.Overview.self).plan == "pro")
            let mint = try #require(try await TokenMint.query(on: app.coordinator.store.db).filter(\.$source == .token).first())
            #expect(mint.amount == Credits(micro: 12_750_000).micro)

            // Credits: full price, now.
            _ = try await client.json(.post, "/api/v1/credits/grant", ["user_id": id, "amount": 20], token: admin)
            let paid = try await Self.subscribe(client, "standard", "credits", token: jwt)
            #expect(paid.status == "paid" && paid.amount == Credits(5) && paid.discountPercent == 0)
            #expect(try await Self.balance(client, jwt) == Credits(15))
            let broke = try await client.json(.post, "/api/v1/billing/subscribe", ["plan_id": "business", "method": "credits"], token: jwt)
            #expect(broke.status.code == 402 && broke.error?.code == "insufficient_credits")

            // Renewal: a month later credits pay again; with too few, grace; after grace, back to free.
            let billing = app.coordinator.billing
            let userID = UUID(uuidString: id)!
            let month = Date().addingTimeInterval(32 * 86_400)
            try await billing.renewDue(now: month)
            #expect(try await Self.balance(client, jwt) == Credits(10))
            _ = try await client.json(.post, "/api/v1/credits/revoke", ["user_id": id, "amount": 10], token: admin)
            let twoMonths = month.addingTimeInterval(32 * 86_400)
            try await billing.renewDue(now: twoMonths)
            #expect(try await Subscription.find(userID, on: app.coordinator.store.db)?.status == .grace)
            #expect(try await User.find(userID, on: app.coordinator.store.db)?.planID == "standard", "services keep running in grace")
            try await billing.renewDue(now: twoMonths.addingTimeInterval(4 * 86_400))
            #expect(try await User.find(userID, on: app.coordinator.store.db)?.planID == "free")
            try await CreditsTests.expectConsistent(app)
        }
    }

    @Test("affiliates: 80 % on card and token payments only, no self-referral, payouts from 100")
    func affiliates() async throws {
        let stripe = StripeStandIn()
        try await stripe.run { provider in
            try await TestApp.run(.coordinator, Self.settings, paymentProvider: provider) { app, client in
                let admin = try await client.signInAdmin(app)
                let (affiliate, _) = try await client.signUp(app, email: "affiliate@example.com")
                let joined = try await client.json(.post, "/api/v1/affiliate/join", token: affiliate).decode(
                    AffiliateService.Dashboard.self)
                let code = try #require(joined.code)
                #expect(joined.joined && joined.referralLink?.hasSuffix("/?ref=\(code)") == true)
                #expect(
                    try await client.json(.post, "/api/v1/affiliate/join", token: affiliate).decode(AffiliateService.Dashboard.self).code
                        == code,
                    "joining twice keeps the code")

                let registered = try await client.json(
                    .post, "/api/v1/auth/register",
                    ["email": "referred@example.com", "password": "a long enough password", "referral_code": code])
                #expect(registered.status == .created)
                let token = try #require(app.mailer.verificationToken(for: "referred@example.com"))
                _ = try await client.json(.get, "/api/v1/auth/verify-email?token=\(token)")
                let login = try await client.json(
                    .post, "/api/v1/auth/login", ["email": "referred@example.com", "password": "a long enough password"])
                let session = try login.decode(AuthController.LoginResponse.self)
                let referred = session.accessToken
                let referredID = session.user.id.uuidString

                // Credit-funded: no commission.
                _ = try await client.json(.post, "/api/v1/credits/grant", ["user_id": referredID, "amount": 100], token: admin)
                _ = try await client.json(
                    .post, "/api/v1/billing/subscribe", ["plan_id": "business", "method": "credits"], token: referred)
                var dashboard = try await client.json(.get, "/api/v1/affiliate/dashboard", token: affiliate).decode(
                    AffiliateService.Dashboard.self)
                #expect(dashboard.totalReferrals == 1 && dashboard.payingReferrals == 0 && dashboard.totalEarned == .zero)

                // Card: 80 %, twice (a renewal counts again).
                for (index, event) in ["evt_a", "evt_b"].enumerated() {
                    let subscribe = try await Self.subscribe(client, "business", "stripe", token: referred)
                    let answer = try await Self.post(
                        client, "/api/v1/billing/stripe/webhook",
                        try Self.signed([
                            "id": event, "type": "checkout.session.completed",
                            "data": [
                                "object": [
                                    "id": "cs_\(index)", "payment_status": "paid", "amount_total": 5900,
                                    "metadata": ["payment_id": subscribe.paymentId.uuidString],
                                ]
                            ],
                        ]))
                    #expect(answer.status == .ok)
                }
                dashboard = try await client.json(.get, "/api/v1/affiliate/dashboard", token: affiliate).decode(
                    AffiliateService.Dashboard.self)
                #expect(dashboard.totalEarned == Credits(micro: 94_400_000) && dashboard.payingReferrals == 1, "\(dashboard)")
                #expect(dashboard.commissions.first?.percent == 80 && dashboard.commissions.count == 2)
                let early = try await client.json(.post, "/api/v1/affiliate/request-payout", token: affiliate)
                #expect(early.status == .conflict && early.error?.code == "payout_below_minimum")
                let subscribe = try await Self.subscribe(client, "business", "stripe", token: referred)
                _ = try await Self.post(
                    client, "/api/v1/billing/stripe/webhook",
                    try Self.signed([
                        "id": "evt_c", "type": "checkout.session.async_payment_succeeded",
                        "data": [
                            "object": ["id": "cs_9", "payment_status": "paid", "metadata": ["payment_id": subscribe.paymentId.uuidString]]
                        ],
                    ]))
                let payout = try await client.json(.post, "/api/v1/affiliate/request-payout", token: affiliate)
                #expect(payout.status == .created, "\(payout.text)")
                #expect(try payout.decode(AffiliateController.AdminPayout.self).amount == Credits(micro: 141_600_000), "\(payout.text)")
                dashboard = try await client.json(.get, "/api/v1/affiliate/dashboard", token: affiliate).decode(
                    AffiliateService.Dashboard.self)
                #expect(dashboard.availableBalance == .zero && dashboard.payouts.count == 1)
                let payouts = try await client.json(.get, "/api/v1/affiliate/admin/payouts", token: admin).decode(
                    AffiliateController.PayoutList.self)
                let payoutID = try #require(payouts.payouts.first).id
                let paid = try await client.json(.post, "/api/v1/affiliate/admin/payouts/\(payoutID)/paid", token: admin).decode(
                    AffiliateController.AdminPayout.self)
                #expect(paid.id == payoutID && paid.status == "paid")

                // Self-referral: an affiliate's own payments earn nothing, even with their own code on file.
                let affiliateUser = try #require(
                    try await User.query(on: app.coordinator.store.db).filter(\.$email == "affiliate@example.com").first())
                affiliateUser.referralCode = code
                try await affiliateUser.save(on: app.coordinator.store.db)
                let own = try await Self.subscribe(client, "pro", "stripe", token: affiliate)
                _ = try await Self.post(
                    client, "/api/v1/billing/stripe/webhook",
                    try Self.signed([
                        "id": "evt_self", "type": "checkout.session.completed",
                        "data": [
                            "object": ["id": "cs_self", "payment_status": "paid", "metadata": ["payment_id": own.paymentId.uuidString]]
                        ],
                    ]))
                dashboard = try await client.json(.get, "/api/v1/affiliate/dashboard", token: affiliate).decode(
                    AffiliateService.Dashboard.self)
                #expect(dashboard.totalEarned == Credits(micro: 141_600_000))
            }
        }
    }
}
