import DCDNCore
import FluentKit
import FluentSQL
import Foundation
import Hummingbird
import SQLKit

/// Resellers, their tiers, and the tier progression that paid sales drive.
public struct ResellerService: Sendable {
    let store: DatabaseStore
    let promos: PromoService

    public struct TierResponse: ResponseCodable, Sendable {
        var name: String
        var creditPerUser: Credits
        var minSalesToQualify: Int
        var maxPromosPerReseller: Int
        var badge: String

        init(_ tier: ResellerTier) {
            name = tier.id!
            creditPerUser = Credits(micro: tier.creditPerUser)
            minSalesToQualify = tier.minSalesToQualify
            maxPromosPerReseller = tier.maxPromosPerReseller
            badge = tier.badge
        }
    }

    public struct ResellerResponse: ResponseCodable, Sendable {
        var id: UUID
        var userId: UUID
        var email: String?
        var companyName: String
        var tier: String
        var totalPaidSales: Int
        var promoCodes: Int
        var createdAt: Date?
    }

    public func tiers() async throws -> [ResellerTier] {
        try await ResellerTier.query(on: store.db).sort(\.$position).all()
    }

    func tier(_ name: String, field: String = "tier") async throws -> ResellerTier {
        guard let tier = try await ResellerTier.find(name.lowercased(), on: store.db) else {
            let names = try await tiers().compactMap(\.id).joined(separator: ", ")
            throw APIError.validation(field, "must be one of \(names)")
        }
        return tier
    }

    func response(_ reseller: Reseller) async throws -> ResellerResponse {
        try await responses([reseller])[0]
    }

    /// A page of resellers with their emails and code counts, in two queries.
    func responses(_ resellers: [Reseller]) async throws -> [ResellerResponse] {
        guard !resellers.isEmpty else { return [] }
        let users = try await User.query(on: store.db).filter(\.$id ~~ resellers.map(\.userID)).all()
        let emails = Dictionary(users.map { ($0.id!, $0.email) }, uniquingKeysWith: { a, _ in a })
        let counts = try await store.db.sql.select().column("reseller_id").column(SQLRaw("COUNT(*)"), as: "codes")
            .from(PromoCode.schema).where("reseller_id", .in, SQLBind.group(resellers.map(\.id!))).groupBy("reseller_id").all()
        var codes: [UUID: Int] = [:]
        for row in counts { codes[try row.decode(column: "reseller_id", as: UUID.self)] = try row.decode(column: "codes", as: Int.self) }
        return resellers.map {
            ResellerResponse(
                id: $0.id!, userId: $0.userID, email: emails[$0.userID], companyName: $0.companyName, tier: $0.tier,
                totalPaidSales: $0.totalPaidSales, promoCodes: codes[$0.id!] ?? 0, createdAt: $0.createdAt)
        }
    }

    public func create(userID: UUID?, tier name: String?, companyName: String?) async throws -> Reseller {
        guard let userID else { throw APIError.validation("user_id", "is required") }
        guard let user = try await User.find(userID, on: store.db) else { throw APIError.validation("user_id", "is not a user") }
        let company = companyName?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard (1...200).contains(company.count) else { throw APIError.validation("company_name", "is required (at most 200 characters)") }
        let tier = try await tier(name ?? "base")
        if try await Reseller.query(on: store.db).filter(\.$userID == userID).first() != nil {
            throw APIError.conflict("\(user.email) is already a reseller.", code: .alreadyReseller)
        }
        let reseller = Reseller()
        reseller.userID = userID
        reseller.companyName = company
        reseller.tier = tier.id!
        reseller.totalPaidSales = 0
        try await reseller.create(on: store.db)
        if user.role == .user {
            user.role = .reseller
            try await user.save(on: store.db)
        }
        return reseller
    }

    public func setTier(_ id: UUID, to name: String?) async throws -> Reseller {
        guard let reseller = try await Reseller.find(id, on: store.db) else { throw APIError.notFound("Reseller") }
        guard let name else { throw APIError.validation("tier", "is required") }
        reseller.tier = try await tier(name).id!
        try await reseller.save(on: store.db)
        return reseller
    }

    func list(_ page: Page) async throws -> ([Reseller], Int) {
        let total = try await Reseller.query(on: store.db).count()
        return (try await Reseller.query(on: store.db).sort(\.$createdAt).range(page.offset..<(page.offset + page.limit)).all(), total)
    }

    public struct TierChange: ResponseCodable, Sendable {
        var creditPerUser: Credits?
        var maxPromosPerReseller: Int?
        var minSalesToQualify: Int?
    }

    public func updateTier(_ name: String?, with change: TierChange) async throws -> ResellerTier {
        guard let name, !name.isEmpty else { throw APIError.validation("tier_name", "is required") }
        let tier = try await tier(name, field: "tier_name")
        if let credit = change.creditPerUser {
            guard credit.micro > 0, credit <= Credits(1_000_000) else {
                throw APIError.validation("credit_per_user", "must be more than 0 and at most 1000000")
            }
            tier.creditPerUser = credit.micro
        }
        if let max = change.maxPromosPerReseller {
            guard (1...1_000_000).contains(max) else { throw APIError.validation("max_promos_per_reseller", "must be from 1 to 1000000") }
            tier.maxPromosPerReseller = max
        }
        if let min = change.minSalesToQualify {
            guard min >= 0 else { throw APIError.validation("min_sales_to_qualify", "must be 0 or more") }
            tier.minSalesToQualify = min
        }
        try await tier.save(on: store.db)
        return tier
    }

    func reseller(of userID: UUID) async throws -> Reseller {
        guard let reseller = try await Reseller.query(on: store.db).filter(\.$userID == userID).first() else {
            throw APIError(.forbidden, code: .notReseller, detail: "This account is not a reseller.")
        }
        return reseller
    }

    /// A reseller's own code: the amount within the tier's per-user credit, the count within its maximum.
    public func createPromo(_ draft: PromoService.Draft, by userID: UUID) async throws -> PromoCode {
        let reseller = try await reseller(of: userID)
        let tier = try await tier(reseller.tier)
        if let amount = draft.creditAmount, amount.micro > tier.creditPerUser {
            throw APIError.validation(
                "credit_amount", "is more than your \(reseller.tier) tier allows per customer (\(Credits(micro: tier.creditPerUser)))")
        }
        let made = try await PromoCode.query(on: store.db).filter(\.$resellerID == reseller.id!).count()
        guard made < tier.maxPromosPerReseller else {
            throw APIError(
                .forbidden, code: .resellerPromoLimit,
                detail: "Your \(reseller.tier) tier allows \(tier.maxPromosPerReseller) promo codes; you have \(made).")
        }
        var draft = draft
        // Reseller credits never expire, and each customer redeems a code once.
        draft.creditExpiresInDays = nil
        draft.perUserLimit = 1
        draft.campaign = draft.campaign ?? "reseller"
        return try await promos.create(draft, by: userID, reseller: reseller)
    }

    /// A Stripe or token payment by `customer`: counts toward their reseller's tier, and moves
    /// the reseller up when it reaches the next tier's `min_sales_to_qualify`.
    func recordPaidSale(by customer: UUID, on db: any Database) async throws {
        guard let first = try await ResellerPromoLog.query(on: db).filter(\.$userID == customer).sort(\.$createdAt).first(),
            let reseller = try await db.sql.select().column("*").from(Reseller.schema)
                .where("id", .equal, SQLBind(first.resellerID)).for(.update).first()?.decode(fluentModel: Reseller.self),
            reseller.userID != customer
        else { return }
        reseller.totalPaidSales += 1
        let tiers = try await ResellerTier.query(on: db).sort(\.$position).all()
        let current = tiers.first { $0.id == reseller.tier }?.position ?? 0
        if let earned = tiers.last(where: { $0.minSalesToQualify <= reseller.totalPaidSales }), earned.position > current {
            reseller.tier = earned.id!
        }
        try await reseller.save(on: db)
    }
}
