import DCDNCore
import FluentKit
import FluentSQL
import Foundation
import Hummingbird
import SQLKit

/// Promo codes: creating them (admins, and resellers within their tier) and redeeming them.
public struct PromoService: Sendable {
    let store: DatabaseStore
    let ledger: CreditLedger

    public struct Draft: ResponseCodable, Sendable {
        public var code: String?
        public var creditAmount: Credits?
        public var campaign: String?
        public var maxUses: Int?
        public var perUserLimit: Int?
        public var expiresInDays: Int?
        public var creditExpiresInDays: Int?

        public init(
            code: String?, creditAmount: Credits?, campaign: String? = nil, maxUses: Int? = nil, perUserLimit: Int? = nil,
            expiresInDays: Int? = nil, creditExpiresInDays: Int? = nil
        ) {
            self.code = code
            self.creditAmount = creditAmount
            self.campaign = campaign
            self.maxUses = maxUses
            self.perUserLimit = perUserLimit
            self.expiresInDays = expiresInDays
            self.creditExpiresInDays = creditExpiresInDays
        }
    }

    public struct Response: ResponseCodable, Sendable {
        var id: UUID
        var code: String
        var creditAmount: Credits
        var campaign: String?
        var maxUses: Int?
        var perUserLimit: Int
        var uses: Int
        var expiresAt: Date?
        var creditExpiresInDays: Int?
        var active: Bool
        var resellerId: UUID?
        var createdAt: Date?

        init(_ promo: PromoCode) {
            id = promo.id!
            code = promo.code
            creditAmount = Credits(micro: promo.creditAmount)
            campaign = promo.campaign
            maxUses = promo.maxUses
            perUserLimit = promo.perUserLimit
            uses = promo.uses
            expiresAt = promo.expiresAt
            creditExpiresInDays = promo.creditExpiresInDays
            active = promo.active
            resellerId = promo.resellerID
            createdAt = promo.createdAt
        }
    }

    /// Keeps only the characters a code may have (`[A-Za-z0-9_-]`), as the guide says redeem input is treated.
    public static func sanitize(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") })
    }

    /// Campaign names: short, printable, no markup.
    static func campaign(_ text: String?) throws -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard text.count <= 100, sanitize(text) == text else {
            throw APIError.validation("campaign", "may contain only letters, digits, _ and - (at most 100)")
        }
        return text
    }

    func create(_ draft: Draft, by userID: UUID, reseller: Reseller? = nil, now: Date = Date()) async throws -> PromoCode {
        guard let code = draft.code?.trimmingCharacters(in: .whitespaces), (3...64).contains(code.count), Self.sanitize(code) == code
        else { throw APIError.validation("code", "must be 3 to 64 letters, digits, _ or -") }
        guard let amount = draft.creditAmount, amount.micro > 0, amount <= Credits(1_000_000) else {
            throw APIError.validation("credit_amount", "must be more than 0 and at most 1000000 credits")
        }
        if let maxUses = draft.maxUses, !(1...10_000_000).contains(maxUses) {
            throw APIError.validation("max_uses", "must be from 1 to 10000000, or null for unlimited")
        }
        let perUser = draft.perUserLimit ?? 1
        guard (1...1000).contains(perUser) else { throw APIError.validation("per_user_limit", "must be from 1 to 1000") }
        if let days = draft.expiresInDays, !(1...3650).contains(days) {
            throw APIError.validation("expires_in_days", "must be from 1 to 3650, or null for a code that never expires")
        }
        if let days = draft.creditExpiresInDays, !(1...3650).contains(days) {
            throw APIError.validation("credit_expires_in_days", "must be from 1 to 3650, or null for credits that never expire")
        }
        let key = code.uppercased()
        if try await PromoCode.query(on: store.db).filter(\.$codeKey == key).first() != nil {
            throw APIError.conflict("The promo code \(code) already exists.", code: .promoCodeExists)
        }
        let promo = PromoCode()
        promo.code = code
        promo.codeKey = key
        promo.creditAmount = amount.micro
        promo.campaign = try Self.campaign(draft.campaign)
        promo.maxUses = draft.maxUses
        promo.perUserLimit = perUser
        promo.uses = 0
        promo.expiresAt = draft.expiresInDays.map { now.addingTimeInterval(Double($0) * 86_400) }
        promo.creditExpiresInDays = draft.creditExpiresInDays
        promo.active = true
        promo.createdBy = userID
        promo.resellerID = reseller?.id
        do {
            try await promo.create(on: store.db)
        } catch {
            // Two creators raced for the same code; the unique index chose one.
            throw APIError.conflict("The promo code \(code) already exists.", code: .promoCodeExists)
        }
        return promo
    }

    func list(_ page: Page, resellerID: UUID? = nil) async throws -> ([PromoCode], Int) {
        let query = PromoCode.query(on: store.db)
        if let resellerID { query.filter(\.$resellerID == resellerID) }
        let total = try await query.count()
        return (try await query.sort(\.$createdAt, .descending).range(page.offset..<(page.offset + page.limit)).all(), total)
    }

    func toggle(_ id: UUID) async throws -> PromoCode {
        guard let promo = try await PromoCode.find(id, on: store.db) else { throw APIError.notFound("Promo code") }
        promo.active.toggle()
        try await promo.save(on: store.db)
        return promo
    }

    public struct Redemption: ResponseCodable, Sendable {
        var ok: Bool
        var code: String
        var creditsReceived: Credits
        var newBalance: Credits
        /// When the received credits expire; null never.
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey { case ok, code, creditsReceived, newBalance, expiresAt }

        // `expires_at` is always present, null for credits that never expire, as in the guide.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(ok, forKey: .ok)
            try container.encode(code, forKey: .code)
            try container.encode(creditsReceived, forKey: .creditsReceived)
            try container.encode(newBalance, forKey: .newBalance)
            try container.encode(expiresAt, forKey: .expiresAt)
        }
    }

    /// Redeems `text` for `userID`. The code's row is locked, so concurrent redemptions never
    /// pass `max_uses`; the grant is made in the same transaction.
    public func redeem(_ text: String, userID: UUID, now: Date = Date()) async throws -> Redemption {
        let code = Self.sanitize(text)
        guard !code.isEmpty else { throw APIError.validation("code", "is required (letters, digits, _ and -)") }
        return try await ledger.transaction { db in
            let sql = db.sql
            guard
                let promo = try await sql.select().column("*").from(PromoCode.schema)
                    .where("code_key", .equal, SQLBind(code.uppercased())).for(.update).first()?.decode(fluentModel: PromoCode.self)
            else { throw APIError.notFound("Promo code") }
            guard promo.active else { throw APIError.conflict("This promo code is disabled.", code: .promoCodeDisabled) }
            if let expires = promo.expiresAt, expires <= now {
                throw APIError.conflict("This promo code expired.", code: .promoCodeExpired)
            }
            if let maxUses = promo.maxUses, promo.uses >= maxUses {
                throw APIError.conflict("This promo code has been used up.", code: .promoCodeUsedUp)
            }
            var reseller: Reseller?
            if let resellerID = promo.resellerID {
                reseller = try await Reseller.find(resellerID, on: db)
                if reseller?.userID == userID {
                    throw APIError(.forbidden, code: .ownPromoCode, detail: "Resellers cannot redeem their own promo codes.")
                }
            }
            let earlier = try await PromoRedemption.query(on: db).filter(\.$promoID == promo.id!).filter(\.$userID == userID).count()
            guard earlier < promo.perUserLimit else {
                throw APIError.conflict(
                    promo.perUserLimit == 1
                        ? "You have already redeemed this promo code." : "You have redeemed this promo code \(earlier) times, its limit.",
                    code: .promoCodeAlreadyRedeemed)
            }
            let expiresAt = promo.creditExpiresInDays.map { CreditBook.expiry(now.addingTimeInterval(Double($0) * 86_400)) }
            let transaction = try await ledger.grant(
                .init(
                    userID: userID, amount: Credits(micro: promo.creditAmount), source: .promo, category: "promo:\(promo.code)",
                    description: "Promo code redeemed: \(promo.code)", campaign: promo.campaign, expiresAt: expiresAt,
                    idempotencyKey: "promo:\(promo.id!):\(earlier + 1)"), on: db, now: now)
            promo.uses += 1
            try await promo.save(on: db)
            let redemption = PromoRedemption()
            redemption.promoID = promo.id!
            redemption.userID = userID
            redemption.amount = promo.creditAmount
            redemption.transactionID = transaction.id!
            try await redemption.create(on: db)
            if let reseller {
                let line = ResellerPromoLog()
                line.resellerID = reseller.id!
                line.promoID = promo.id!
                line.userID = userID
                line.amount = promo.creditAmount
                try await line.create(on: db)
            }
            return Redemption(
                ok: true, code: promo.code, creditsReceived: Credits(micro: promo.creditAmount),
                newBalance: Credits(micro: transaction.balanceAfter), expiresAt: expiresAt)
        }
    }
}

extension PromoService.Draft {
    /// A promo code as the admin and reseller pages' forms give it.
    init(_ form: FormData) {
        func int(_ key: String) -> Int? { form[key].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        self.init(
            code: form.string("code"), creditAmount: Decimal(string: form.string("credit_amount")).flatMap { Credits(decimal: $0) },
            campaign: form["campaign"], maxUses: int("max_uses"), perUserLimit: int("per_user_limit"),
            expiresInDays: int("expires_in_days"),
            creditExpiresInDays: int("credit_expires_in_days"))
    }
}
