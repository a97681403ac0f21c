import DCDNCore
import FluentKit
import Foundation
import Hummingbird
import SQLKit

/// `/credits/*`: a user's balance, grants and ledger; admins' grants, revokes, refunds and overview.
struct CreditsController {
    let billing: BillingService
    let idempotency: IdempotentCalls
    let ledger: CreditLedger
    let store: DatabaseStore

    struct BalanceResponse: ResponseCodable, Sendable {
        var balance: Credits
        var totalGranted: Credits
        var totalUsed: Credits
        var totalExpired: Credits
        var totalRevoked: Credits
        var activeGrants: Int
        /// `active`, `grace` (balance ran out; services keep running until grace_ends_at) or `suspended`.
        var status: String
        var graceEndsAt: Date?
    }

    struct GrantResponse: ResponseCodable, Sendable {
        var id: UUID
        var amount: Credits
        var remaining: Credits
        var source: String
        var campaign: String?
        var description: String
        var expiresAt: Date?
        var createdAt: Date?

        init(_ grant: CreditGrant) {
            id = grant.id!
            amount = Credits(micro: grant.amount)
            remaining = Credits(micro: grant.remaining)
            source = grant.source.rawValue
            campaign = grant.campaign
            description = grant.description
            expiresAt = grant.expiresAt
            createdAt = grant.createdAt
        }
    }

    struct TransactionResponse: ResponseCodable, Sendable {
        var id: UUID
        var txType: String
        var amount: Credits
        var balanceAfter: Credits
        var description: String
        var category: String
        var grantId: UUID?
        var createdAt: Date?

        init(_ transaction: CreditTransaction) {
            id = transaction.id!
            txType = transaction.kind.rawValue
            amount = Credits(micro: transaction.amount)
            balanceAfter = Credits(micro: transaction.balanceAfter)
            description = transaction.description
            category = transaction.category
            grantId = transaction.grantID
            createdAt = transaction.createdAt
        }
    }

    struct GrantList: ResponseCodable {
        var grants: [GrantResponse]
        var total: Int
    }

    struct TransactionList: ResponseCodable {
        var transactions: [TransactionResponse]
        var total: Int
    }

    struct HistoryList: ResponseCodable {
        var history: [TransactionResponse]
        var total: Int
    }

    struct GrantRequest: ResponseCodable, Sendable {
        var userId: UUID?
        var userIds: [UUID]?
        var amount: Credits?
        var campaign: String?
        var description: String?
        var expiresInDays: Int?
    }

    struct GrantResult: ResponseCodable, Sendable {
        var userId: UUID
        var transactionId: UUID
        var grantId: UUID?
        var amount: Credits
        var newBalance: Credits
        var expiresAt: Date?
    }

    struct BulkResult: ResponseCodable, Sendable {
        var granted: Int
        var results: [GrantResult]
    }

    struct RevokeRequest: ResponseCodable, Sendable {
        var userId: UUID?
        var amount: Credits?
        var grantId: UUID?
        var reason: String?
    }

    struct RefundRequest: ResponseCodable, Sendable {
        var userId: UUID?
        var transactionId: UUID?
        var amount: Credits?
        var reason: String?
    }

    struct Overview: ResponseCodable {
        var accounts: Int
        var totalBalance: Credits
        var totalGranted: Credits
        var totalUsed: Credits
        var totalExpired: Credits
        var totalRevoked: Credits
        var activeGrants: Int
        var expiringWithin30Days: Credits
        var accountsInGrace: Int
        var promoCodes: Int
        var promoRedemptions: Int
        var tokenMints: TokenMintTotals
    }

    struct TokenMintTotals: ResponseCodable, Sendable {
        var total: Credits
        var nodeRewardPool: Credits
        var rspHolders: Credits
        var rspTreasury: Credits
        var lpTreasury: Credits
        var fromCredits: Credits
        var unsettled: Int
    }

    struct UserDetail: ResponseCodable {
        var user: UserResponse
        var balance: BalanceResponse
        var grants: [GrantResponse]
        var transactions: [TransactionResponse]
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("credits")
        group.get("balance") { _, context -> BalanceResponse in
            try await balance(of: try context.requireIdentity().userID)
        }
        group.get("grants") { request, context -> GrantList in
            let userID = try context.requireIdentity().userID
            try await ledger.settle(userID)
            let page = try Page(request)
            let grants = try await ledger.activeGrants(of: userID)
            return GrantList(grants: grants.dropFirst(page.offset).prefix(page.limit).map(GrantResponse.init), total: grants.count)
        }
        group.get("transactions") { request, context -> TransactionList in
            let (rows, total) = try await transactions(of: try context.requireIdentity().userID, request: request)
            return TransactionList(transactions: rows.map(TransactionResponse.init), total: total)
        }
        group.get("history") { request, context -> HistoryList in
            let (rows, total) = try await transactions(of: try context.requireIdentity().userID, request: request)
            return HistoryList(history: rows.map(TransactionResponse.init), total: total)
        }
        group.get("transactions/export") { _, context -> Response in
            try await csv(of: try context.requireIdentity().userID)
        }
        group.post("buy") { request, context -> EditedResponse<BillingService.CheckoutResponse> in
            let identity = try context.requireIdentity()
            let body = try await request.decode(as: BillingService.BuyRequest.self, context: context)
            let result = try await idempotency.run(request, user: identity.userID, route: "credits/buy") { _ in
                try await billing.buyCredits(body, user: identity.user)
            }
            return EditedResponse(status: .created, response: result)
        }
        group.post("grant") { request, context -> EditedResponse<GrantResult> in
            let admin = try context.requireAdmin()
            let body = try await request.decode(as: GrantRequest.self, context: context)
            guard let userID = body.userId else { throw APIError.validation("user_id", "is required") }
            let result = try await idempotency.run(request, user: admin.userID, route: "credits/grant") { key in
                try await grant(body, to: [userID], by: admin.userID, key: key)[0]
            }
            return EditedResponse(status: .created, response: result)
        }
        group.post("grant/bulk") { request, context -> EditedResponse<BulkResult> in
            let admin = try context.requireAdmin()
            let body = try await request.decode(as: GrantRequest.self, context: context)
            guard let ids = body.userIds, !ids.isEmpty else { throw APIError.validation("user_ids", "must list at least one user") }
            guard ids.count <= 500 else { throw APIError.validation("user_ids", "may list at most 500 users (got \(ids.count))") }
            let result = try await idempotency.run(request, user: admin.userID, route: "credits/grant/bulk") { key in
                let results = try await grant(body, to: ids, by: admin.userID, key: key)
                return BulkResult(granted: results.count, results: results)
            }
            return EditedResponse(status: .created, response: result)
        }
        group.post("revoke") { request, context -> TransactionResponse in
            let admin = try context.requireAdmin()
            let body = try await request.decode(as: RevokeRequest.self, context: context)
            guard let userID = body.userId else { throw APIError.validation("user_id", "is required") }
            guard try await User.find(userID, on: store.db) != nil else {
                throw APIError.validation("user_id", "is not a user")
            }
            guard body.amount != nil || body.grantId != nil else { throw APIError.validation("amount", "or grant_id is required") }
            return try await idempotency.run(request, user: admin.userID, route: "credits/revoke") { key in
                TransactionResponse(
                    try await ledger.revoke(
                        userID, amount: body.amount, grantID: body.grantId,
                        reason: try Self.text(body.reason, "reason") ?? "Revoked by an admin",
                        idempotencyKey: key))
            }
        }
        group.post("refund") { request, context -> TransactionResponse in
            let admin = try context.requireAdmin()
            let body = try await request.decode(as: RefundRequest.self, context: context)
            guard let userID = body.userId else { throw APIError.validation("user_id", "is required") }
            guard let spendID = body.transactionId else { throw APIError.validation("transaction_id", "is required") }
            return try await idempotency.run(request, user: admin.userID, route: "credits/refund") { key in
                TransactionResponse(
                    try await ledger.refund(
                        userID, spend: spendID, amount: body.amount, reason: try Self.text(body.reason, "reason") ?? "Refund",
                        idempotencyKey: key))
            }
        }
        group.get("admin/overview") { _, context -> Overview in
            _ = try context.requireAdmin()
            return try await overview()
        }
        group.get("admin/user/:id") { _, context -> UserDetail in
            _ = try context.requireAdmin()
            let userID = try context.parameters.uuid("id", what: "User")
            guard let user = try await User.find(userID, on: store.db) else { throw APIError.notFound("User") }
            return try await detail(of: user)
        }
    }

    // MARK: Shared with the dashboard

    /// Optional free text: trimmed, at most 500 characters.
    static func text(_ value: String?, _ field: String) throws -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        guard value.count <= 500 else { throw APIError.validation(field, "must be at most 500 characters") }
        return value
    }

    func balance(of userID: UUID) async throws -> BalanceResponse {
        try await ledger.settle(userID)
        let account = try await ledger.account(of: userID)
        let standing = ledger.standing(of: account)
        return BalanceResponse(
            balance: Credits(micro: account?.balance ?? 0), totalGranted: Credits(micro: account?.totalGranted ?? 0),
            totalUsed: Credits(micro: account?.totalUsed ?? 0), totalExpired: Credits(micro: account?.totalExpired ?? 0),
            totalRevoked: Credits(micro: account?.totalRevoked ?? 0), activeGrants: try await ledger.activeGrants(of: userID).count,
            status: standing.status.rawValue, graceEndsAt: standing.graceEndsAt)
    }

    func transactions(of userID: UUID, request: Request) async throws -> ([CreditTransaction], Int) {
        try await ledger.settle(userID)
        let page = try Page(request)
        let query = CreditTransaction.query(on: store.db).filter(\.$userID == userID)
        if let type = request.uri.queryParameters["tx_type"] {
            guard let kind = CreditTransaction.Kind(rawValue: String(type)) else {
                throw APIError.validation("tx_type", "must be grant, spend, expire, revoke or refund")
            }
            query.filter(\.$kind == kind)
        }
        let total = try await query.count()
        return (try await query.sort(\.$sequence, .descending).range(page.offset..<(page.offset + page.limit)).all(), total)
    }

    /// The whole ledger as CSV, newest first. Text cells that a spreadsheet would run as a
    /// formula get a leading apostrophe.
    func csv(of userID: UUID) async throws -> Response {
        try await ledger.settle(userID)
        let rows = try await CreditTransaction.query(on: store.db).filter(\.$userID == userID).sort(\.$sequence, .descending)
            .all()
        var text = "id,created_at,tx_type,amount,balance_after,category,description\r\n"
        let formatter = ISO8601DateFormatter()
        for row in rows {
            let cells = [
                row.id!.uuidString, row.createdAt.map(formatter.string) ?? "", row.kind.rawValue, "\(Credits(micro: row.amount))",
                "\(Credits(micro: row.balanceAfter))", Self.cell(row.category), Self.cell(row.description),
            ]
            text += cells.joined(separator: ",") + "\r\n"
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"dcdn-credits.csv\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func cell(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    func grant(_ body: GrantRequest, to userIDs: [UUID], by admin: UUID, key: String, now: Date = Date()) async throws -> [GrantResult] {
        guard let amount = body.amount, amount.micro > 0, amount <= Credits(1_000_000) else {
            throw APIError.validation("amount", "must be more than 0 and at most 1000000 credits")
        }
        if let days = body.expiresInDays, !(1...3650).contains(days) {
            throw APIError.validation("expires_in_days", "must be from 1 to 3650, or null for credits that never expire")
        }
        let campaign = try PromoService.campaign(body.campaign)
        var seen = Set<UUID>()
        let unique = userIDs.filter { seen.insert($0).inserted }
        let found = try await User.query(on: store.db).filter(\.$id ~~ unique).all().compactMap(\.id)
        let missing = Set(unique).subtracting(found)
        guard missing.isEmpty else {
            throw APIError.validation(
                userIDs.count == 1 ? "user_id" : "user_ids", "no such user: \(missing.map(\.uuidString).sorted().joined(separator: ", "))")
        }
        let description = try Self.text(body.description, "description") ?? campaign.map { "Credits granted: \($0)" } ?? "Credits granted"
        let expiresAt = body.expiresInDays.map { CreditBook.expiry(now.addingTimeInterval(Double($0) * 86_400)) }
        var results: [GrantResult] = []
        for userID in unique {
            let transaction = try await ledger.grant(
                .init(
                    userID: userID, amount: amount, source: .admin, category: campaign.map { "grant:\($0)" } ?? "grant",
                    description: description, campaign: campaign, expiresAt: expiresAt, grantedBy: admin, idempotencyKey: "\(key):\(userID)"
                ),
                now: now)
            results.append(
                GrantResult(
                    userId: userID, transactionId: transaction.id!, grantId: transaction.grantID, amount: amount,
                    newBalance: Credits(micro: transaction.balanceAfter), expiresAt: expiresAt))
        }
        return results
    }

    func overview(now: Date = Date()) async throws -> Overview {
        let db = store.db
        func accounts(_ column: String) async throws -> Credits { Credits(micro: try await db.sql.sum(column, in: CreditAccount.schema)) }
        func mints(_ column: String, source: TokenMint.Source? = nil) async throws -> Credits {
            Credits(
                micro: try await db.sql.sum(column, in: TokenMint.schema) { query in
                    source.map { query.where("source", .equal, $0.rawValue) } ?? query
                })
        }
        let soon = now.addingTimeInterval(30 * 86_400)
        return Overview(
            accounts: try await CreditAccount.query(on: db).count(), totalBalance: try await accounts("balance_micro"),
            totalGranted: try await accounts("total_granted_micro"), totalUsed: try await accounts("total_used_micro"),
            totalExpired: try await accounts("total_expired_micro"), totalRevoked: try await accounts("total_revoked_micro"),
            activeGrants: try await CreditGrant.query(on: db).filter(\.$remaining > 0).group(.or) {
                $0.filter(\.$expiresAt == nil).filter(\.$expiresAt > now)
            }.count(),
            expiringWithin30Days: Credits(
                micro: try await db.sql.sum("remaining_micro", in: CreditGrant.schema) {
                    $0.where("remaining_micro", .greaterThan, 0).where("expires_at", .greaterThan, now).where(
                        "expires_at", .lessThanOrEqual, soon)
                }),
            accountsInGrace: try await CreditAccount.query(on: db).filter(\.$depletedAt != nil).count(),
            promoCodes: try await PromoCode.query(on: db).count(), promoRedemptions: try await PromoRedemption.query(on: db).count(),
            tokenMints: TokenMintTotals(
                total: try await mints("amount_micro"), nodeRewardPool: try await mints("node_reward_pool_micro"),
                rspHolders: try await mints("rsp_holders_micro"), rspTreasury: try await mints("rsp_treasury_micro"),
                lpTreasury: try await mints("lp_treasury_micro"), fromCredits: try await mints("amount_micro", source: .credits),
                unsettled: try await TokenMint.query(on: db).filter(\.$settledAt == nil).count()))
    }

    func detail(of user: User) async throws -> UserDetail {
        let userID = user.id!
        let balance = try await balance(of: userID)
        let transactions = try await CreditTransaction.query(on: store.db).filter(\.$userID == userID)
            .sort(\.$sequence, .descending).limit(100).all()
        return UserDetail(
            user: UserResponse(user), balance: balance, grants: try await ledger.activeGrants(of: userID).map(GrantResponse.init),
            transactions: transactions.map(TransactionResponse.init))
    }
}
