import DCDNCore
import FluentKit
import Foundation
import SQLKit

/// Checks the ledger's invariants over every account (`dcdn admin verify-ledger`, the tests,
/// the benchmark): balance ≥ 0; balance = sum of grants' remaining = sum of transactions =
/// granted − used − expired − revoked = the last transaction's balance_after; every grant's
/// remaining between 0 and its amount; promo codes never past max_uses and their use counts
/// equal to their redemptions.
public struct LedgerAudit: Sendable {
    let store: DatabaseStore

    public init(store: DatabaseStore) { self.store = store }

    public struct Report: Sendable {
        public var accounts = 0
        public var transactions = 0
        public var totalBalance: Int64 = 0
        public var problems: [String] = []
        public var isConsistent: Bool { problems.isEmpty }
    }

    private struct AccountRow: Decodable {
        var userId: UUID
        var balance: Int64
        var totals: Int64
        var grants: Int64
        var ledger: Int64
        var lastAfter: Int64?
        var badGrants: Int64
        var transactions: Int64
    }

    private struct PromoRow: Decodable {
        var code: String
        var uses: Int64
        var maxUses: Int64?
        var redemptions: Int64
    }

    public func run() async throws -> Report {
        let sql = store.db.sql
        let accounts = try await sql.raw(
            """
            SELECT a.user_id AS user_id, a.balance_micro AS balance,
              a.total_granted_micro - a.total_used_micro - a.total_expired_micro - a.total_revoked_micro AS totals,
              CAST((SELECT COALESCE(SUM(g.remaining_micro), 0) FROM credit_grants g WHERE g.user_id = a.user_id) AS BIGINT) AS grants,
              CAST((SELECT COALESCE(SUM(t.amount_micro), 0) FROM credit_transactions t WHERE t.user_id = a.user_id) AS BIGINT) AS ledger,
              (SELECT t.balance_after_micro FROM credit_transactions t WHERE t.user_id = a.user_id ORDER BY t.sequence DESC LIMIT 1) AS last_after,
              (SELECT COUNT(*) FROM credit_grants g WHERE g.user_id = a.user_id AND (g.remaining_micro < 0 OR g.remaining_micro > g.amount_micro)) AS bad_grants,
              (SELECT COUNT(*) FROM credit_transactions t WHERE t.user_id = a.user_id) AS transactions
            FROM credit_accounts a
            """
        ).all(decoding: AccountRow.self, keyDecodingStrategy: .convertFromSnakeCase)
        var report = Report()
        for row in accounts {
            report.accounts += 1
            report.transactions += Int(row.transactions)
            report.totalBalance += row.balance
            let name = row.userId.uuidString
            if row.balance < 0 { report.problems.append("\(name): negative balance \(Credits(micro: row.balance))") }
            if row.grants != row.balance {
                report.problems.append("\(name): balance \(Credits(micro: row.balance)) ≠ grants' remaining \(Credits(micro: row.grants))")
            }
            if row.ledger != row.balance {
                report.problems.append(
                    "\(name): balance \(Credits(micro: row.balance)) ≠ sum of transactions \(Credits(micro: row.ledger))")
            }
            if row.totals != row.balance {
                report.problems.append("\(name): balance \(Credits(micro: row.balance)) ≠ account totals \(Credits(micro: row.totals))")
            }
            if (row.lastAfter ?? 0) != row.balance {
                report.problems.append("\(name): last balance_after \(Credits(micro: row.lastAfter ?? 0)) ≠ balance")
            }
            if row.badGrants > 0 { report.problems.append("\(name): \(row.badGrants) grants with remaining outside 0…amount") }
        }
        let promos = try await sql.raw(
            """
            SELECT p.code AS code, CAST(p.uses AS BIGINT) AS uses, CAST(p.max_uses AS BIGINT) AS max_uses,
              (SELECT COUNT(*) FROM promo_redemptions r WHERE r.promo_id = p.id) AS redemptions
            FROM promo_codes p
            """
        ).all(decoding: PromoRow.self, keyDecodingStrategy: .convertFromSnakeCase)
        for promo in promos {
            if let max = promo.maxUses, promo.uses > max { report.problems.append("promo \(promo.code): \(promo.uses) uses > max \(max)") }
            if promo.uses != promo.redemptions {
                report.problems.append("promo \(promo.code): uses \(promo.uses) ≠ \(promo.redemptions) redemptions")
            }
        }
        // Every mint divides its amount exactly as `TokenMintSplit` does (70/25/5, remainders to
        // the treasuries): what on-chain settlement reads must be what the ledger charged.
        struct MintRow: Decodable {
            var id: UUID
            var amountMicro: Int64
            var nodeRewardPoolMicro: Int64
            var rspHoldersMicro: Int64
            var rspTreasuryMicro: Int64
            var lpTreasuryMicro: Int64
        }
        let mints = try await sql.raw(
            """
            SELECT id, amount_micro, node_reward_pool_micro, rsp_holders_micro, rsp_treasury_micro, lp_treasury_micro FROM token_mints
            """
        ).all(decoding: MintRow.self, keyDecodingStrategy: .convertFromSnakeCase)
        for mint in mints {
            let expected = TokenMintSplit(total: max(0, mint.amountMicro))
            let found = [mint.nodeRewardPoolMicro, mint.rspHoldersMicro, mint.rspTreasuryMicro, mint.lpTreasuryMicro]
            if mint.amountMicro < 0 || found != [expected.nodeRewardPool, expected.rspHolders, expected.rspTreasury, expected.lpTreasury] {
                report.problems.append(
                    "token mint \(mint.id.uuidString): split \(found.map { Credits(micro: $0).description }.joined(separator: "/")) of \(Credits(micro: mint.amountMicro)) is not 70/25/5"
                )
            }
        }
        return report
    }
}
