/// The 70/25/5 split every payment mints DCDN tokens in, credit-funded ones included, so node
/// operators are paid whatever the customer paid with: 70 % to the node reward pool, 25 % to
/// the RSP connector (99 % of it to RSP holders, 1 % to the RSP treasury), 5 % to LP/treasury.
/// Integer micro-units; rounding remainders go to the treasuries so the parts always add up.
public struct TokenMintSplit: Sendable, Equatable, Codable {
    public var total: Int64
    public var nodeRewardPool: Int64
    public var rspHolders: Int64
    public var rspTreasury: Int64
    public var lpTreasury: Int64

    public init(total: Int64) {
        precondition(total >= 0)
        self.total = total
        nodeRewardPool = total / 100 * 70 + total % 100 * 70 / 100
        let connector = total / 100 * 25 + total % 100 * 25 / 100
        rspHolders = connector / 100 * 99 + connector % 100 * 99 / 100
        rspTreasury = connector - rspHolders
        lpTreasury = total - nodeRewardPool - connector
    }

    public var rspConnector: Int64 { rspHolders + rspTreasury }
}
