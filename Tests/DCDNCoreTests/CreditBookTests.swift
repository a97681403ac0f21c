import Foundation
import PropertyBased
import Testing

@testable import DCDNCore

/// The ledger's pure rules: FIFO allocation, expiry, the token split, metered prices.
@Suite struct CreditBookTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Random grants: remaining 0…50 credits (in micro), a third expired, a third expiring later, a third never.
    static let grants = Gen.int(in: 0...50_000_000).array(of: 0...12).map { amounts in
        amounts.enumerated().map { index, amount in
            GrantBalance(
                id: UUID(), remaining: Int64(amount),
                expiresAt: index % 3 == 0 ? nil : index % 3 == 1 ? now.addingTimeInterval(-1) : now.addingTimeInterval(86_400))
        }
    }

    @Test func fifoTakesOldestUnexpiredFirstAndNeverMore() async {
        await propertyCheck(count: 300, input: Self.grants, Gen.int(in: 0...400_000_000)) { grants, wanted in
            let amount = Int64(wanted)
            let spendable = CreditBook.spendable(grants, now: Self.now)
            let parts = CreditBook.allocate(amount, from: grants, now: Self.now)
            if amount > spendable {
                #expect(parts == nil)
                return
            }
            let taken = try #require(parts)
            #expect(taken.reduce(0) { $0 + $1.amount } == amount)
            for part in taken {
                #expect(!grants[part.index].isExpired(at: Self.now))
                #expect(part.amount > 0 && part.amount <= grants[part.index].remaining)
            }
            // FIFO: every part but the last empties its grant, and no later grant is touched
            // while an earlier spendable one still holds credits.
            for part in taken.dropLast() { #expect(part.amount == grants[part.index].remaining) }
            let indices = taken.map(\.index)
            #expect(indices == indices.sorted())
            if let last = indices.last {
                for index in 0..<last where !indices.contains(index) {
                    #expect(grants[index].remaining == 0 || grants[index].isExpired(at: Self.now))
                }
            }
        }
    }

    @Test func expiryTakesExactlyTheDueGrantsThatHoldCredits() async {
        await propertyCheck(count: 300, input: Self.grants) { grants in
            let due = CreditBook.due(grants, now: Self.now)
            for index in grants.indices {
                let shouldExpire = grants[index].remaining > 0 && grants[index].expiresAt.map { $0 <= Self.now } == true
                #expect(due.contains(index) == shouldExpire)
            }
            // What stays spendable after expiry is the whole balance minus the due grants.
            let total = grants.reduce(0) { $0 + $1.remaining }
            let expired = due.reduce(0) { $0 + grants[$1].remaining }
            #expect(CreditBook.spendable(grants, now: Self.now) == total - expired)
        }
    }

    @Test func tokenSplitAddsUpAndFollowsSeventyTwentyFiveFive() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...Int(Int32.max))) { value in
            let split = TokenMintSplit(total: Int64(value) * 1000 + Int64(value % 997))
            #expect(split.nodeRewardPool + split.rspConnector + split.lpTreasury == split.total)
            #expect(abs(split.nodeRewardPool * 100 - split.total * 70) < 100)
            #expect(abs(split.rspConnector * 100 - split.total * 25) < 100)
            #expect(abs(split.rspHolders * 100 - split.rspConnector * 99) < 100)
        }
        let hundred = TokenMintSplit(total: Credits(100).micro)
        #expect(hundred.nodeRewardPool == Credits(70).micro)
        #expect(hundred.rspHolders == Credits(micro: 24_750_000).micro)
        #expect(hundred.rspTreasury == Credits(micro: 250_000).micro)
        #expect(hundred.lpTreasury == Credits(5).micro)
    }

    @Test func meteredPricesFollowTheBillingGuide() {
        // VPS: monthly price / 730 per hour; a $2.19 plan is $0.003 an hour.
        #expect(MeteredCharge.vps(plan: "nano", instance: "a", monthlyPrice: Credits(micro: 2_190_000), seconds: 3600).amount.micro == 3000)
        // AI: $3 / $15 per million tokens, times the tier multiplier.
        let ai = MeteredCharge.aiTokens(
            model: "dcdn-smart", input: 1_000_000, output: 100_000, inputPerMillion: Credits(3), outputPerMillion: Credits(15),
            multiplier: 2)
        #expect(ai.amount == Credits(9))
        #expect(MeteredCharge.gpu(node: "g1", hourlyPrice: Credits(2), seconds: 1800).amount == Credits(1))
        // Rounds up, never to free.
        #expect(MeteredCharge.gpu(node: "g1", hourlyPrice: Credits(1), seconds: 1).amount.micro == 278)
        #expect(MeteredCharge.planRenewal(plan: "Pro", monthlyPrice: Credits(15)).category == "Plan: Pro")
    }
}
