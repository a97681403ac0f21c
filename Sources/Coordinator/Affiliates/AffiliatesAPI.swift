import Foundation
import OpenAPIKit

/// The affiliate program (§12).
extension OpenAPIDocument {
    static var affiliatesOperations: [Operation] {
        [
            Operation(
                method: "post", path: "/api/v1/affiliate/join", summary: "Join the affiliate program; returns the dashboard",
                tag: "Affiliates", access: .user, responses: [(200, "AffiliateDashboard")]),
            Operation(
                method: "get", path: "/api/v1/affiliate/dashboard",
                summary: "Referral link, referrals, paying referrals, earnings, available balance, commissions, payouts",
                tag: "Affiliates", access: .user, responses: [(200, "AffiliateDashboard")]),
            Operation(
                method: "post", path: "/api/v1/affiliate/request-payout", summary: "Request the available balance (minimum 100 USD)",
                tag: "Affiliates", access: .user, responses: [(201, "Payout"), (403, "Error"), (409, "Error")], idempotent: true),
            Operation(
                method: "get", path: "/api/v1/affiliate/admin/payouts", summary: "Payout requests, newest first", tag: "Affiliates",
                access: .admin, responses: [(200, "PayoutList")], query: page),
            Operation(
                method: "post", path: "/api/v1/affiliate/admin/payouts/{id}/paid", summary: "Mark a payout paid", tag: "Affiliates",
                access: .admin, responses: [(200, "Payout"), (404, "Error")]),
        ]
    }
}

extension AffiliatesArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.affiliatesOperations }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.affiliatesSchemas }
}

extension OpenAPIDocument {
    static var affiliatesSchemas: [String: JSONSchema] {
        [
            "AffiliateDashboard": object(
                [
                    "joined": boolean, "code": string, "referral_link": string, "total_referrals": integer, "paying_referrals": integer,
                    "total_earned": amount, "available_balance": amount, "minimum_payout": amount, "commission_percent": integer,
                    "commissions": .array(items: .object),
                    "payouts": .array(items: .object),
                ], required: ["joined", "total_referrals", "paying_referrals", "total_earned", "available_balance"]),
            "Payout": object(
                ["id": uuid, "affiliate_user_id": uuid, "amount": amount, "status": string, "requested_at": time, "paid_at": optionalTime],
                required: ["id", "amount", "status"]),
            "PayoutList": list("payouts", of: "Payout"),
        ]
    }
}
