import DCDNCore
import FluentKit
import Foundation
import Hummingbird

/// `/cdn/domains`, their DNS records and zone files, and high availability (§3, §11, §15).
struct DomainsController {
    let domains: DomainService
    let settings: DCDNSettings

    struct DomainResponse: ResponseCodable {
        var id: UUID
        var name: String
        var status: String
        var origin: String
        var sslMode: String
        var cacheLevel: String
        var browserTtl: Int
        var edgeTtl: Int
        var devMode: Bool
        var devModeUntil: Date?
        var underAttack: Bool
        var multiNodeRedundancy: Bool
        var dnsFallback: Bool
        /// Set these at the registrar.
        var nameservers: [String]
        var serial: UInt32
        var activatedAt: Date?
        var createdAt: Date?
        var updatedAt: Date?

        init(_ domain: Domain, nameservers: [String]) {
            id = domain.id!
            name = domain.name
            status = domain.status.rawValue
            origin = domain.origin
            sslMode = domain.sslMode.rawValue
            cacheLevel = domain.cacheLevel.rawValue
            browserTtl = domain.browserTTL
            edgeTtl = domain.edgeTTL
            devMode = (domain.devModeUntil ?? .distantPast) > Date()
            devModeUntil = devMode ? domain.devModeUntil : nil
            underAttack = domain.underAttack
            multiNodeRedundancy = domain.multiNodeRedundancy
            dnsFallback = domain.dnsFallback
            self.nameservers = nameservers
            serial = domain.serial
            activatedAt = domain.activatedAt
            createdAt = domain.createdAt
            updatedAt = domain.updatedAt
        }
    }
    struct DomainList: ResponseCodable {
        var domains: [DomainResponse]
        var total: Int
    }
    struct RecordResponse: ResponseCodable {
        var id: UUID
        var name: String
        var fqdn: String
        var type: String
        var content: String
        var ttl: Int
        var priority: Int?
        var proxied: Bool
        var createdAt: Date?
        var updatedAt: Date?

        init(_ record: DomainRecord, zone: String) {
            id = record.id!
            name = record.name
            fqdn = record.name == "@" ? zone : "\(record.name).\(zone)"
            type = record.type
            content = record.content
            ttl = record.ttl
            priority = record.priority
            proxied = record.proxied
            createdAt = record.createdAt
            updatedAt = record.updatedAt
        }
    }
    struct RecordList: ResponseCodable {
        var records: [RecordResponse]
        var total: Int
    }
    struct ImportRequest: Decodable {
        var zone: String
        var replace: Bool?
    }

    func response(_ domain: Domain) async throws -> DomainResponse {
        let nameservers = try await NameserverSet.load(settings, on: domains.db)
        return DomainResponse(domain, nameservers: nameservers.names(dnsFallback: domain.dnsFallback))
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("cdn/domains")
        group.post { request, context -> EditedResponse<DomainResponse> in
            let user = try context.requireIdentity().user
            let body = try await request.decode(as: DomainService.NewDomain.self, context: context)
            return EditedResponse(status: .created, response: try await response(try await domains.create(body, for: user)))
        }
        group.get { request, context -> DomainList in
            let (list, total) = try await domains.list(for: try context.requireIdentity().user, page: try Page(request))
            let nameservers = try await NameserverSet.load(settings, on: domains.db)
            return DomainList(
                domains: list.map { DomainResponse($0, nameservers: nameservers.names(dnsFallback: $0.dnsFallback)) }, total: total)
        }
        group.get(":id") { _, context -> DomainResponse in
            try await response(try await domain(context))
        }
        group.patch(":id") { request, context -> DomainResponse in
            let domain = try await domain(context)
            let settings = try await request.decode(as: DomainService.Settings.self, context: context)
            return try await response(try await domains.update(domain, with: settings))
        }
        group.delete(":id") { _, context -> HTTPResponse.Status in
            try await domains.delete(try await domain(context))
            return .noContent
        }
        group.get(":id/records") { _, context -> RecordList in
            let domain = try await domain(context)
            let records = try await domains.records(of: domain)
            return RecordList(records: records.map { RecordResponse($0, zone: domain.name) }, total: records.count)
        }
        group.post(":id/records") { request, context -> EditedResponse<RecordResponse> in
            let domain = try await domain(context)
            let draft = try await request.decode(as: DomainService.RecordDraft.self, context: context)
            return EditedResponse(
                status: .created, response: RecordResponse(try await domains.addRecord(draft, to: domain), zone: domain.name))
        }
        group.get(":id/records/:record_id") { _, context -> RecordResponse in
            let domain = try await domain(context)
            return RecordResponse(
                try await domains.record(try context.parameters.uuid("record_id", what: "Record"), of: domain), zone: domain.name)
        }
        group.patch(":id/records/:record_id") { request, context -> RecordResponse in
            let domain = try await domain(context)
            let record = try await domains.record(try context.parameters.uuid("record_id", what: "Record"), of: domain)
            let draft = try await request.decode(as: DomainService.RecordDraft.self, context: context)
            return RecordResponse(try await domains.updateRecord(record, with: draft, domain: domain), zone: domain.name)
        }
        group.delete(":id/records/:record_id") { _, context -> HTTPResponse.Status in
            let domain = try await domain(context)
            try await domains.deleteRecord(
                try await domains.record(try context.parameters.uuid("record_id", what: "Record"), of: domain), domain: domain)
            return .noContent
        }
        group.get(":id/zone") { _, context -> Response in
            let domain = try await domain(context)
            let text = ZoneFile.export(
                domain: domain, records: try await domains.records(of: domain),
                nameservers: try await NameserverSet.load(settings, on: domains.db).names(dnsFallback: domain.dnsFallback),
                hostmaster: settings.hostmaster)
            return Response(
                status: .ok,
                headers: [.contentType: "text/dns; charset=utf-8", .contentDisposition: "attachment; filename=\"\(domain.name).zone\""],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        group.post(":id/zone") { request, context -> ZoneFile.ImportResult in
            let domain = try await domain(context)
            let text: String
            let replace: Bool
            if request.headers[.contentType]?.hasPrefix("application/json") == true {
                let body = try await request.decode(as: ImportRequest.self, context: context)
                (text, replace) = (body.zone, body.replace ?? false)
            } else {
                text = String(buffer: try await request.body.collect(upTo: 1 << 20))
                replace = request.uri.queryParameters["replace"] == "true"
            }
            return try await ZoneFile.importZone(text, into: domain, replace: replace, service: domains)
        }
    }

    func domain(_ context: AppRequestContext) async throws -> Domain { try await domains.domain(in: context) }
}

/// §11 "high availability", served under the guide's `/content_moderation/*` names and under
/// `/high-availability/*`.
struct HighAvailabilityController {
    let domains: DomainService
    let settings: DCDNSettings
    let store: DatabaseStore

    struct Feature: Codable {
        var key: String
        var title: String
        var description: String
    }
    struct Features: ResponseCodable {
        var features: [Feature]
        var total: Int
        var includedInAllPlans = true
    }
    struct EnableRequest: Decodable {
        var domainName: String?
        var domainId: UUID?
        var multiNodeRedundancy: Bool?
        var dnsFallback: Bool?
    }
    struct Status: ResponseCodable {
        var domain: String
        var enabled: Bool
        var multiNodeRedundancy: Bool
        var dnsFallback: Bool
        var healthyEdgeNodes: Int
        var regions: [String]
        var nameservers: [String]
        /// The regions the domain's nameservers are in (two or more with DNS fallback, where the fleet has them).
        var nameserverRegions: [String]
    }

    static let features = [
        Feature(
            key: "multi_node_redundancy", title: "Multi-Node Redundancy",
            description: "Every proxied name answers with edge nodes in at least two regions, run by independent operators."),
        Feature(
            key: "dns_fallback", title: "DNS Fallback",
            description:
                "The NS set spans nameservers in at least two regions, and while no edge node is healthy proxied names answer with the origin's own address (30 s TTL)."
        ),
        Feature(
            key: "no_central_kill_switch", title: "No Central Kill Switch",
            description: "Nodes keep serving their last configuration when the coordinator is unreachable."),
        Feature(
            key: "geographic_distribution", title: "Geographic Distribution",
            description: "GeoDNS sends each visitor to the nearest healthy node."),
        Feature(
            key: "transparent_operations", title: "Transparent Operations",
            description: "An open sanctioned-countries list and no editorial content moderation."),
        Feature(
            key: "origin_encryption", title: "Origin Encryption",
            description: "Full (strict) SSL mode encrypts and verifies the connection to your origin."),
    ]

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        for prefix in ["content_moderation", "high-availability"] {
            let group = api.group(RouterPath(prefix))
            group.get("features") { _, _ in Features(features: Self.features, total: Self.features.count) }
            group.post("enable") { request, context -> Status in
                let user = try context.requireIdentity().user
                let body = try await request.decode(as: EnableRequest.self, context: context)
                let domain: Domain
                if let id = body.domainId {
                    domain = try await domains.domain(id, of: user)
                } else if let name = body.domainName {
                    domain = try await domains.domain(named: name, of: user)
                } else {
                    throw APIError.validation("domain_name", "is required (or domain_id)")
                }
                var settings = DomainService.Settings()
                settings.multiNodeRedundancy = body.multiNodeRedundancy ?? true
                settings.dnsFallback = body.dnsFallback ?? true
                return try await status(try await domains.update(domain, with: settings))
            }
            group.get("status/:domain") { _, context -> Status in
                let user = try context.requireIdentity().user
                return try await status(try await domains.domain(named: context.parameters.get("domain") ?? "", of: user))
            }
        }
    }

    func status(_ domain: Domain) async throws -> Status {
        let nodes = try await Node.query(on: store.db).all().filter { $0.roles.contains("edge") && $0.healthy }
        let nameservers = try await NameserverSet.load(settings, on: store.db)
        let names = nameservers.names(dnsFallback: domain.dnsFallback)
        return Status(
            domain: domain.name, enabled: domain.multiNodeRedundancy || domain.dnsFallback, multiNodeRedundancy: domain.multiNodeRedundancy,
            dnsFallback: domain.dnsFallback, healthyEdgeNodes: nodes.count, regions: Array(Set(nodes.map(\.region))).sorted(),
            nameservers: names, nameserverRegions: nameservers.regions(of: names))
    }
}
