import DCDNCore
import FluentKit
import FluentSQL
import Foundation
import Hummingbird
import SQLKit

/// The affiliate program (§12): 80 % recurring commission on the Stripe and token payments of
/// the customers an affiliate referred; payouts from 100 credits (USD).
public struct AffiliateService: Sendable {
    let store: DatabaseStore
    let ledger: CreditLedger
    let publicURL: String

    static let commissionPercent = 80
    static let minimumPayout = Credits(100)

    public func join(_ userID: UUID) async throws -> Affiliate {
        if let existing = try await Affiliate.find(userID, on: store.db) { return existing }
        for _ in 0..<5 {
            let affiliate = Affiliate()
            affiliate.id = userID
            affiliate.code = Self.newCode()
            do {
                try await affiliate.create(on: store.db)
                return affiliate
            } catch {
                // Joined twice at once, or a code collision: look again, then try a new code.
                if let existing = try await Affiliate.find(userID, on: store.db) { return existing }
            }
        }
        throw APIError.conflict("Could not allocate a referral code; try again.")
    }

    /// Eight characters without look-alikes (no 0/O, 1/I).
    static func newCode() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return String((0..<8).map { _ in alphabet.randomElement()! })
    }

    public struct CommissionLine: ResponseCodable, Sendable {
        var id: UUID
        var amount: Credits
        var percent: Int
        var paymentAmount: Credits
        /// `available` until a payout takes it, then `paid_out`.
        var status: String
        var createdAt: Date?
    }

    public struct PayoutLine: ResponseCodable, Sendable {
        var id: UUID
        var amount: Credits
        var status: String
        var requestedAt: Date?
        var paidAt: Date?
    }

    public struct Dashboard: ResponseCodable, Sendable {
        var joined: Bool
        var code: String?
        var referralLink: String?
        var totalReferrals: Int
        var payingReferrals: Int
        var totalEarned: Credits
        var availableBalance: Credits
        var minimumPayout: Credits
        var commissionPercent: Int
        var commissions: [CommissionLine]
        var payouts: [PayoutLine]
    }

    public func dashboard(_ userID: UUID) async throws -> Dashboard {
        guard let affiliate = try await Affiliate.find(userID, on: store.db) else {
            return Dashboard(
                joined: false, totalReferrals: 0, payingReferrals: 0, totalEarned: .zero, availableBalance: .zero,
                minimumPayout: Self.minimumPayout, commissionPercent: Self.commissionPercent, commissions: [], payouts: [])
        }
        let referrals = try await User.query(on: store.db).filter(\.$referralCode == affiliate.code).filter(\.$id != userID).count()
        let commissions = try await AffiliateCommission.query(on: store.db).filter(\.$affiliateUserID == userID)
            .sort(\.$createdAt, .descending).all()
        let payouts = try await AffiliatePayout.query(on: store.db).filter(\.$affiliateUserID == userID)
            .sort(\.$requestedAt, .descending).all()
        let earned = commissions.reduce(0) { $0 + $1.amount }
        let paidOut = payouts.reduce(0) { $0 + $1.amount }
        // Oldest commissions are the ones payouts have taken.
        var covered = paidOut
        var status: [UUID: String] = [:]
        for commission in commissions.reversed() {
            status[commission.id!] = covered >= commission.amount ? "paid_out" : "available"
            covered -= min(covered, commission.amount)
        }
        return Dashboard(
            joined: true, code: affiliate.code, referralLink: "\(publicURL)/?ref=\(affiliate.code)", totalReferrals: referrals,
            payingReferrals: Set(commissions.map(\.referredUserID)).count, totalEarned: Credits(micro: earned),
            availableBalance: Credits(micro: earned - paidOut), minimumPayout: Self.minimumPayout,
            commissionPercent: Self.commissionPercent,
            commissions: commissions.map {
                CommissionLine(
                    id: $0.id!, amount: Credits(micro: $0.amount), percent: $0.percent, paymentAmount: Credits(micro: $0.paymentAmount),
                    status: status[$0.id!] ?? "available", createdAt: $0.createdAt)
            },
            payouts: payouts.map {
                PayoutLine(
                    id: $0.id!, amount: Credits(micro: $0.amount), status: $0.status.rawValue, requestedAt: $0.requestedAt,
                    paidAt: $0.paidAt)
            })
    }

    /// Requests the whole available balance; at least the minimum payout.
    public func requestPayout(_ userID: UUID) async throws -> AffiliatePayout {
        try await ledger.transaction { db in
            let sql = db.sql
            guard
                try await sql.select().column("user_id").from(Affiliate.schema).where("user_id", .equal, SQLBind(userID)).for(.update)
                    .first() != nil
            else { throw APIError(.forbidden, code: .notAffiliate, detail: "Join the affiliate program first.") }
            let earned = try await sql.sum("amount_micro", in: AffiliateCommission.schema) { $0.where("affiliate_user_id", .equal, userID) }
            let paidOut = try await sql.sum("amount_micro", in: AffiliatePayout.schema) { $0.where("affiliate_user_id", .equal, userID) }
            let available = earned - paidOut
            guard available >= Self.minimumPayout.micro else {
                throw APIError.conflict(
                    "Payouts start at \(Self.minimumPayout) USD; your available balance is \(Credits(micro: available)).",
                    code: .payoutBelowMinimum)
            }
            let payout = AffiliatePayout()
            payout.affiliateUserID = userID
            payout.amount = available
            payout.status = .requested
            try await payout.create(on: db)
            return payout
        }
    }

    func payouts(_ page: Page) async throws -> ([AffiliatePayout], Int) {
        let total = try await AffiliatePayout.query(on: store.db).count()
        return (
            try await AffiliatePayout.query(on: store.db).sort(\.$requestedAt, .descending).range(page.offset..<(page.offset + page.limit))
                .all(), total
        )
    }

    public func markPaid(_ id: UUID) async throws -> AffiliatePayout {
        guard let payout = try await AffiliatePayout.find(id, on: store.db) else { throw APIError.notFound("Payout") }
        if payout.status != .paid {
            payout.status = .paid
            payout.paidAt = Date()
            try await payout.save(on: store.db)
        }
        return payout
    }

    /// 80 % of a Stripe or token payment to whoever referred the payer (never the payer themself).
    func recordCommission(for payment: Payment, on db: any Database) async throws {
        guard payment.isPaidSale, payment.amount > 0,
            let payer = try await User.find(payment.userID, on: db), let code = payer.referralCode,
            let affiliate = try await Affiliate.query(on: db).filter(\.$code == code).first(),
            affiliate.id != payer.id
        else { return }
        let commission = AffiliateCommission()
        commission.affiliateUserID = affiliate.id!
        commission.referredUserID = payer.id!
        commission.paymentID = payment.id!
        commission.paymentAmount = payment.amount
        commission.amount = payment.amount * Int64(Self.commissionPercent) / 100
        commission.percent = Self.commissionPercent
        try await commission.create(on: db)
    }
}
