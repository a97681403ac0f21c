import DCDNCore
import FluentKit
import Foundation
import SQLKit

/// The token ledger: what each payment mints in DCDN tokens and how the 70/25/5 split divides
/// it. It is the system of record on-chain settlement reads; `settled_at` is set when a mint is
/// on chain.
public final class TokenMint: Model, @unchecked Sendable {
    public static let schema = "token_mints"

    public enum Source: String, Codable, Sendable { case credits, stripe, token }

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "source") public var source: Source
    /// The credit transaction or payment that caused it.
    @Field(key: "reference") public var reference: UUID
    @Field(key: "amount_micro") public var amount: Int64
    @Field(key: "node_reward_pool_micro") public var nodeRewardPool: Int64
    @Field(key: "rsp_holders_micro") public var rspHolders: Int64
    @Field(key: "rsp_treasury_micro") public var rspTreasury: Int64
    @Field(key: "lp_treasury_micro") public var lpTreasury: Int64
    @OptionalField(key: "settled_at") public var settledAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    /// Appends a mint (SQLKit: it is on the ledger's hot path).
    static func record(_ split: TokenMintSplit, userID: UUID, source: Source, reference: UUID, on db: any Database) async throws {
        try await db.sql.insert(into: schema)
            .columns(
                "id", "user_id", "source", "reference", "amount_micro", "node_reward_pool_micro", "rsp_holders_micro", "rsp_treasury_micro",
                "lp_treasury_micro", "created_at"
            )
            .values(
                SQLBind(UUID()), SQLBind(userID), SQLBind(source.rawValue), SQLBind(reference), SQLBind(split.total),
                SQLBind(split.nodeRewardPool), SQLBind(split.rspHolders), SQLBind(split.rspTreasury), SQLBind(split.lpTreasury),
                SQLBind(Date())
            ).run()
    }
}
