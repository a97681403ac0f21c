import DCDNCore
import Foundation
import Hummingbird

/// Dashboard → Domains: the add-domain flow, settings, the DNS records editor and zone files.
struct DomainsDashboard {
    let certificates: CertificateService
    let renderer: DashboardRenderer
    let domains: DomainService
    let settings: DCDNSettings

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("domains") { request, context in
            try await listPage(try context.requirePage(), request: request)
        }
        dashboard.post("domains") { request, context in
            let identity = try context.requirePage()
            let form = try await FormData(request, context: context)
            do {
                let domain = try await domains.create(
                    DomainService.NewDomain(
                        domain: form.string("domain"), settings: DomainService.Settings(originIp: form.string("origin_ip"))),
                    for: identity.user)
                return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())?notice=domain_added")
            } catch let error as APIError {
                return try await listPage(
                    identity, request: request, status: error.status, error: error.detail,
                    values: ["domainValue": form.string("domain"), "originValue": form.string("origin_ip")])
            }
        }
        dashboard.get("domains/:id") { request, context in
            let identity = try context.requirePage()
            return try await domainPage(identity, try await domain(context, identity), request: request)
        }
        dashboard.post("domains/:id/certificate") { request, context in
            let identity = try context.requirePage()
            let domain = try await domain(context, identity)
            let form = try await FormData(request, context: context)
            _ = try await certificates.request(for: domain, wildcard: form["wildcard"] == "on")
            return Response.redirect(
                to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())?notice=certificate_requested#certificate")
        }
        dashboard.post("domains/:id/settings") { request, context in
            let identity = try context.requirePage()
            let domain = try await domain(context, identity)
            let form = try await FormData(request, context: context)
            var settings = DomainService.Settings()
            settings.sslMode = form["ssl_mode"]
            settings.cacheLevel = form["cache_level"]
            settings.browserTtl = form["browser_ttl"].flatMap { Int($0) }
            settings.edgeTtl = form["edge_ttl"].flatMap { Int($0) }
            settings.origin = form["origin"]
            settings.multiNodeRedundancy = form["multi_node_redundancy"] == "on"
            settings.dnsFallback = form["dns_fallback"] == "on"
            if let devMode = form["dev_mode"] { settings.devMode = devMode == "on" }
            do {
                _ = try await domains.update(domain, with: settings)
                return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())?notice=settings_saved")
            } catch let error as APIError {
                return try await domainPage(identity, domain, request: request, status: error.status, error: error.detail)
            }
        }
        dashboard.post("domains/:id/delete") { _, context in
            let identity = try context.requirePage()
            try await domains.delete(try await domain(context, identity))
            return Response.redirect(to: "/dashboard/domains?notice=domain_deleted")
        }
        dashboard.post("domains/:id/records") { request, context in
            let identity = try context.requirePage()
            let domain = try await domain(context, identity)
            let form = try await FormData(request, context: context)
            do {
                _ = try await domains.addRecord(
                    DomainService.RecordDraft(
                        name: form.string("name"), type: form.string("type"), content: form.string("content"),
                        ttl: Int(form.string("ttl")) ?? 0,
                        priority: Int(form.string("priority")), proxied: form["proxied"] == "on"),
                    to: domain)
                return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())?notice=record_added#records")
            } catch let error as APIError {
                return try await domainPage(
                    identity, domain, request: request, status: error.status, recordError: error.detail,
                    values: [
                        "recordName": form.string("name"), "recordContent": form.string("content"),
                    ])
            }
        }
        dashboard.post("domains/:id/records/:record_id/proxied") { request, context in
            let identity = try context.requirePage()
            let domain = try await domain(context, identity)
            let record = try await domains.record(try context.parameters.uuid("record_id", what: "Record"), of: domain)
            let form = try await FormData(request, context: context)
            do {
                _ = try await domains.updateRecord(
                    record,
                    with: DomainService.RecordDraft(
                        name: nil, type: nil, content: nil, ttl: nil, priority: nil, proxied: form["proxied"] == "true"),
                    domain: domain)
                return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())?notice=record_updated#records")
            } catch let error as APIError {
                return try await domainPage(identity, domain, request: request, status: error.status, recordError: error.detail)
            }
        }
        dashboard.post("domains/:id/records/:record_id/delete") { _, context in
            let identity = try context.requirePage()
            let domain = try await domain(context, identity)
            try await domains.deleteRecord(
                try await domains.record(try context.parameters.uuid("record_id", what: "Record"), of: domain), domain: domain)
            return Response.redirect(to: "/dashboard/domains/\(domain.id!.uuidString.lowercased())?notice=record_deleted#records")
        }
        dashboard.post("domains/:id/zone") { request, context in
            let identity = try context.requirePage()
            let domain = try await domain(context, identity)
            let form = try await FormData(request, context: context)
            let result = try await ZoneFile.importZone(
                form.string("zone"), into: domain, replace: form["replace"] == "on", service: domains)
            let problems = result.errors.map { "line \($0.line): \($0.detail)" }
            return try await domainPage(
                identity, domain, request: request,
                values: [
                    "importResult": "Imported \(result.imported) records, skipped \(result.skipped).", "importErrors": problems,
                    "hasImportErrors": !problems.isEmpty,
                ])
        }
    }

    func domain(_ context: AppRequestContext, _ identity: Identity) async throws -> Domain {
        try await domains.domain(try context.parameters.uuid("id", what: "Domain"), of: identity.user)
    }

    func listPage(
        _ identity: Identity, request: Request, status: HTTPResponse.Status = .ok, error: String? = nil, values extra: [String: Any] = [:]
    ) async throws -> Response {
        let (list, total) = try await domains.list(for: identity.user, page: Page(limit: 500, offset: 0))
        var values = renderer.notice(request)
        values["domains"] = list.map { domain -> [String: Any] in
            [
                "id": domain.id!.uuidString.lowercased(), "name": domain.name, "origin": domain.origin, "active": domain.status == .active,
                "status": domain.status.rawValue,
            ]
        }
        values["hasDomains"] = total > 0
        values["nameservers"] = settings.nameservers
        if let error { values["error"] = error }
        return renderer.page(
            "domains", title: "Domains", identity: identity, active: "domains", status: status, values.merging(extra) { $1 })
    }

    func domainPage(
        _ identity: Identity, _ domain: Domain, request: Request, status: HTTPResponse.Status = .ok, error: String? = nil,
        recordError: String? = nil,
        values extra: [String: Any] = [:]
    ) async throws -> Response {
        let id = domain.id!.uuidString.lowercased()
        let records = try await domains.records(of: domain).map { record -> [String: Any] in
            [
                "id": record.id!.uuidString.lowercased(), "name": record.name, "type": record.type, "content": record.content,
                "ttl": record.ttl == 0 ? "auto" : String(record.ttl), "priority": record.priority.map(String.init) ?? "",
                "proxied": record.proxied, "proxiable": DNSRecordContent.proxiableTypes.contains(record.type), "domainID": id,
            ]
        }
        var values = renderer.notice(request)
        values["domainID"] = id
        values["name"] = domain.name
        values["pending"] = domain.status == .pending
        values["nameservers"] = try await NameserverSet.load(settings, on: domains.db).names(dnsFallback: domain.dnsFallback)
        values["origin"] = domain.origin
        values["sslModes"] = Domain.SSLMode.allCases.map { ["value": $0.rawValue, "selected": $0 == domain.sslMode] }
        values["cacheLevels"] = Domain.CacheLevel.allCases.map { ["value": $0.rawValue, "selected": $0 == domain.cacheLevel] }
        values["browserTTL"] = domain.browserTTL
        values["edgeTTL"] = domain.edgeTTL
        let devMode = (domain.devModeUntil ?? .distantPast) > Date()
        values["devMode"] = devMode
        values["devModeUntil"] = devMode ? DashboardRenderer.format(domain.devModeUntil) : ""
        values["multiNodeRedundancy"] = domain.multiNodeRedundancy
        values["dnsFallback"] = domain.dnsFallback
        values["records"] = records
        values["recordTypes"] = DNSRecordContent.types
        values["serial"] = domain.serial
        let certificate = try await certificates.certificate(of: domain)
        let wildcard = certificate?.wildcard ?? false
        values["acmeEnabled"] = certificates.enabled
        values["certificate"] =
            [
                "status": certificate?.status.rawValue ?? "pending", "wildcard": wildcard,
                "names": (certificate?.names ?? (wildcard ? [domain.name, "*." + domain.name] : [domain.name, "www." + domain.name]))
                    .joined(separator: ", "),
                "expiresAt": certificate?.notAfter.map { DashboardRenderer.format($0) } ?? "",
                "nextAttemptAt": certificate.map { DashboardRenderer.format($0.dueAt) } ?? "", "lastError": certificate?.lastError ?? "",
            ] as [String: Any]
        if let error { values["error"] = error }
        if let recordError { values["recordError"] = recordError }
        return renderer.page(
            "domain", title: domain.name, identity: identity, active: "domains", status: status, values.merging(extra) { $1 })
    }
}

extension Page {
    init(limit: Int, offset: Int) {
        self.limit = limit
        self.offset = offset
    }
}
