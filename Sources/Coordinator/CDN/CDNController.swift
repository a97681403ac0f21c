import DCDNCore
import Foundation
import Hummingbird

/// `/cdn/domains/{id}/page-rules`, `/purge`, `/purges` and `/analytics` (§3).
struct CDNController {
    let cdn: CDNService
    let domains: DomainService

    struct RuleResponse: ResponseCodable {
        var id: UUID
        var position: Int
        var pattern: String
        var cacheLevel: String?
        var edgeTtl: Int?
        var browserTtl: Int?
        var forwardingUrl: String?
        var forwardingStatus: Int?
        var alwaysHttps: Bool
        var createdAt: Date?
        var updatedAt: Date?

        init(_ rule: PageRule) {
            id = rule.id!
            position = rule.position
            pattern = rule.pattern
            cacheLevel = rule.cacheLevel
            edgeTtl = rule.edgeTTL
            browserTtl = rule.browserTTL
            forwardingUrl = rule.forwardingURL
            forwardingStatus = rule.forwardingStatus
            alwaysHttps = rule.alwaysHTTPS
            createdAt = rule.createdAt
            updatedAt = rule.updatedAt
        }
    }
    struct RuleList: ResponseCodable {
        var pageRules: [RuleResponse]
        var total: Int
    }
    struct PurgeResponse: ResponseCodable {
        var id: UUID
        var everything: Bool
        var urls: [String]
        var prefixes: [String]
        var tags: [String]
        /// The configuration version that carries it to the nodes.
        var version: Int64
        /// Healthy edge nodes that have it, of all healthy edge nodes.
        var nodesDone: Int
        var nodesTotal: Int
        var createdAt: Date?
    }
    struct PurgeList: ResponseCodable {
        var purges: [PurgeResponse]
        var total: Int
    }
    struct Analytics: ResponseCodable {
        struct Totals: Codable {
            var requests: Int64
            var bytes: Int64
            var cacheHits: Int64
            /// Hits over requests, 0 to 1.
            var cacheHitRatio: Double
            var status2xx: Int64
            var status3xx: Int64
            var status4xx: Int64
            var status5xx: Int64
        }
        var domain: String
        var period: String
        var intervalSeconds: Int
        var from: Date
        var to: Date
        var totals: Totals
        var buckets: [CDNService.Bucket]
    }

    func purgeResponse(_ purge: PurgeRequest) async throws -> PurgeResponse {
        let (done, total) = try await cdn.propagation(of: purge.version)
        return PurgeResponse(
            id: purge.id!, everything: purge.everything, urls: purge.urls, prefixes: purge.prefixes, tags: purge.tags,
            version: purge.version, nodesDone: done, nodesTotal: total, createdAt: purge.createdAt)
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("cdn/domains")
        group.get(":id/page-rules") { _, context -> RuleList in
            let rules = try await cdn.rules(of: try await domain(context))
            return RuleList(pageRules: rules.map(RuleResponse.init), total: rules.count)
        }
        group.post(":id/page-rules") { request, context -> EditedResponse<RuleResponse> in
            let draft = try await request.decode(as: CDNService.RuleDraft.self, context: context)
            let rule = try await cdn.addRule(draft, to: try await domain(context))
            return EditedResponse(status: .created, response: RuleResponse(rule))
        }
        group.get(":id/page-rules/:rule_id") { _, context -> RuleResponse in
            RuleResponse(try await cdn.rule(try context.parameters.uuid("rule_id", what: "Page rule"), of: try await domain(context)))
        }
        group.patch(":id/page-rules/:rule_id") { request, context -> RuleResponse in
            let domain = try await domain(context)
            let rule = try await cdn.rule(try context.parameters.uuid("rule_id", what: "Page rule"), of: domain)
            let draft = try await request.decode(as: CDNService.RuleDraft.self, context: context)
            return RuleResponse(try await cdn.updateRule(rule, with: draft, domain: domain))
        }
        group.delete(":id/page-rules/:rule_id") { _, context -> HTTPResponse.Status in
            let domain = try await domain(context)
            try await cdn.deleteRule(
                try await cdn.rule(try context.parameters.uuid("rule_id", what: "Page rule"), of: domain), domain: domain)
            return .noContent
        }
        group.post(":id/purge") { request, context -> EditedResponse<PurgeResponse> in
            let draft = try await request.decode(as: CDNService.PurgeDraft.self, context: context)
            let purge = try await cdn.purge(draft, domain: try await domain(context))
            return EditedResponse(status: .accepted, response: try await purgeResponse(purge))
        }
        group.get(":id/purges") { request, context -> PurgeList in
            let (purges, total) = try await cdn.purges(of: try await domain(context), page: try Page(request))
            var items: [PurgeResponse] = []
            for purge in purges { items.append(try await purgeResponse(purge)) }
            return PurgeList(purges: items, total: total)
        }
        group.get(":id/analytics") { request, context -> Analytics in
            let domain = try await domain(context)
            let text = request.uri.queryParameters["period"].map(String.init) ?? "24h"
            guard let period = CDNService.Period(rawValue: text) else {
                throw APIError.validation("period", "must be 1h, 24h, 7d or 30d")
            }
            return try await analytics(domain, period: period)
        }
    }

    func analytics(_ domain: Domain, period: CDNService.Period) async throws -> Analytics {
        let (buckets, totals) = try await cdn.analytics(of: domain, period: period)
        let ratio = totals.requests > 0 ? Double(totals.cacheHits) / Double(totals.requests) : 0
        return Analytics(
            domain: domain.name, period: period.rawValue, intervalSeconds: period.bucketSeconds, from: buckets.first?.start ?? Date(),
            to: (buckets.last?.start ?? Date()).addingTimeInterval(Double(period.bucketSeconds)),
            totals: .init(
                requests: totals.requests, bytes: totals.bytes, cacheHits: totals.cacheHits,
                cacheHitRatio: (ratio * 10_000).rounded() / 10_000,
                status2xx: totals.status2xx, status3xx: totals.status3xx, status4xx: totals.status4xx, status5xx: totals.status5xx),
            buckets: buckets)
    }

    func domain(_ context: AppRequestContext) async throws -> Domain {
        try await domains.domain(in: context)
    }
}
