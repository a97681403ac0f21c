import DCDNCore
import FluentKit
import Foundation
import Hummingbird

/// Customers' domains and their DNS records. Every change bumps the configuration version and
/// stamps it on the domain (its SOA serial), so nodes pick it up within a long poll.
public struct DomainService: Sendable {
    let store: DatabaseStore
    let feed: ConfigFeed
    let planLimits: PlanLimits
    /// Operators (and `dcdn dev`) may allow origins on private addresses.
    /// Which addresses origins and proxied records may have (the edge checks the same).
    let originPolicy: OriginAddressPolicy
    static let devModeLength: TimeInterval = 3 * 3600
    static let browserTTLRange = 3600...31_536_000
    static let edgeTTLRange = 3600...2_592_000

    var db: any Database { store.db }

    public struct Settings: Decodable, Sendable {
        var origin: String?
        var originIp: String?
        var sslMode: String?
        var cacheLevel: String?
        var browserTtl: Int?
        var edgeTtl: Int?
        /// true turns dev mode on for 3 hours, false ends it.
        var devMode: Bool?
        var underAttack: Bool?
        var multiNodeRedundancy: Bool?
        var dnsFallback: Bool?

        public init(origin: String? = nil, originIp: String? = nil, sslMode: String? = nil) {
            self.origin = origin
            self.originIp = originIp
            self.sslMode = sslMode
        }
    }

    public struct NewDomain: Decodable, Sendable {
        /// The guide's field; `name` is accepted too.
        var domain: String?
        var name: String?
        /// The same fields as a settings update, read from the same JSON object.
        var settings: Settings

        enum CodingKeys: String, CodingKey { case domain, name }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            domain = try container.decodeIfPresent(String.self, forKey: .domain)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            settings = try Settings(from: decoder)
        }

        public init(domain: String, settings: Settings) {
            self.domain = domain
            self.settings = settings
        }
    }

    // MARK: Domains

    public func create(_ request: NewDomain, for user: User) async throws -> Domain {
        let name = try Self.domainName(request.domain ?? request.name ?? "")
        let domain = Domain()
        domain.$owner.id = user.id!
        domain.name = name
        domain.status = .pending
        domain.sslMode = .full
        domain.cacheLevel = .standard
        domain.browserTTL = 14_400
        domain.edgeTTL = 86_400
        domain.underAttack = false
        domain.multiNodeRedundancy = false
        domain.dnsFallback = false
        domain.configVersion = 0
        guard request.settings.origin != nil || request.settings.originIp != nil else {
            throw APIError.validation("origin_ip", "is required: the IP address or host name of your server")
        }
        try apply(request.settings, to: domain)
        let origin = Origin(domain.origin)!
        // Counted, checked and created while holding the user: parallel requests take turns.
        try await store.exclusively(User.schema, id: user.id!) { [planLimits] db in
            try await planLimits.check(.domains, for: user, on: db)
            try await Self.checkAvailable(name, for: user, on: db)
            try await domain.create(on: db)
            // "DCDN creates DNS records automatically": the apex and www, proxied to the origin.
            let apex =
                origin.isIP
                ? DomainRecord(
                    domainID: domain.id!, name: "@", type: origin.isIPv4 ? "A" : "AAAA", content: origin.host, ttl: 0, priority: nil,
                    proxied: true)
                : DomainRecord(domainID: domain.id!, name: "@", type: "CNAME", content: origin.host, ttl: 0, priority: nil, proxied: true)
            try await apex.create(on: db)
            try await DomainRecord(domainID: domain.id!, name: "www", type: "CNAME", content: name, ttl: 0, priority: nil, proxied: true)
                .create(on: db)
            try await touch(domain, on: db)
        }
        feed.changed()
        return domain
    }

    /// 409 `domain_taken` when the name is on DCDN already, or lies within a domain another
    /// account holds: nameservers answer a name from its closest enclosing zone, so a zone inside
    /// someone else's would take over their names.
    static func checkAvailable(_ name: String, for user: User, on db: any Database) async throws {
        guard try await Domain.query(on: db).filter(\.$name == name).first() == nil else {
            throw APIError.conflict("\(name) is already on DCDN.", code: .domainTaken)
        }
        var labels = name.split(separator: ".").dropFirst()
        var enclosing: [String] = []
        while labels.count >= 2 {
            enclosing.append(labels.joined(separator: "."))
            labels = labels.dropFirst()
        }
        guard !enclosing.isEmpty,
            let parent = try await Domain.query(on: db).filter(\.$name ~~ enclosing).filter(\.$owner.$id != user.id!).first()
        else { return }
        throw APIError.conflict("\(name) is within \(parent.name), which another account holds on DCDN.", code: .domainTaken)
    }

    func list(for user: User, page: Page) async throws -> ([Domain], Int) {
        let query = Domain.query(on: db).filter(\.$owner.$id == user.id!)
        let total = try await query.count()
        return (try await query.sort(\.$name).range(page.offset..<(page.offset + page.limit)).all(), total)
    }

    /// The user's domain by ID; another tenant's is "not found".
    public func domain(_ id: UUID, of user: User) async throws -> Domain {
        guard let domain = try await Domain.query(on: db).filter(\.$id == id).filter(\.$owner.$id == user.id!).first() else {
            throw APIError.notFound("Domain")
        }
        return domain
    }

    /// The user's domain by name (the guide's `domain_name` parameters).
    public func domain(named raw: String, of user: User) async throws -> Domain {
        let name = IDNA.toASCII(raw) ?? raw.lowercased()
        guard let domain = try await Domain.query(on: db).filter(\.$name == name).filter(\.$owner.$id == user.id!).first() else {
            throw APIError.notFound("Domain")
        }
        return domain
    }

    public func update(_ domain: Domain, with settings: Settings) async throws -> Domain {
        try apply(settings, to: domain)
        try await touch(domain)
        return domain
    }

    public func delete(_ domain: Domain) async throws {
        try await db.transaction { [store] db in
            try await store.lockRow(Domain.schema, id: domain.id!, on: db)
            let version = try await feed.bump(on: db)
            try await DomainTombstone(domainID: domain.id!, version: version).create(on: db)
            try await domain.delete(on: db)
        }
        feed.changed()
    }

    /// Marks a change: a new version, stamped on the domain as its serial.
    func touch(_ domain: Domain, on database: (any Database)? = nil) async throws {
        let db = database ?? self.db
        if let database, let id = domain.id { try await store.lockRow(Domain.schema, id: id, on: database) }
        domain.configVersion = try await feed.bump(on: database)
        try await domain.save(on: db)
    }

    func apply(_ settings: Settings, to domain: Domain) throws {
        if let raw = settings.originIp ?? settings.origin {
            guard let origin = Origin(raw) else {
                throw APIError.validation(
                    settings.originIp != nil ? "origin_ip" : "origin", "must be an IP address or host name, optionally with :port")
            }
            if let ip = IPAddress(origin.host), let refusal = originPolicy.refusal(ip) {
                throw APIError.validation(settings.originIp != nil ? "origin_ip" : "origin", "must be a public address: \(refusal)")
            }
            domain.origin = origin.description
        }
        if let mode = settings.sslMode {
            guard let value = Domain.SSLMode(rawValue: mode) else {
                throw APIError.validation("ssl_mode", "must be off, flexible, full or strict")
            }
            domain.sslMode = value
        }
        if let level = settings.cacheLevel { domain.cacheLevel = try Self.cacheLevel(level) }
        if let ttl = settings.browserTtl { domain.browserTTL = try Self.browserTTL(ttl) }
        if let ttl = settings.edgeTtl {
            guard Self.edgeTTLRange.contains(ttl) else {
                throw APIError.validation("edge_ttl", "must be 3600 (1 hour) to 2592000 (30 days) seconds")
            }
            domain.edgeTTL = ttl
        }
        if let devMode = settings.devMode { domain.devModeUntil = devMode ? Date().addingTimeInterval(Self.devModeLength) : nil }
        if let value = settings.underAttack { domain.underAttack = value }
        if let value = settings.multiNodeRedundancy { domain.multiNodeRedundancy = value }
        if let value = settings.dnsFallback { domain.dnsFallback = value }
    }

    /// A registrable domain in ASCII form, or a validation error.
    /// A cache level named in a request (domain settings and page rules).
    static func cacheLevel(_ text: String) throws -> Domain.CacheLevel {
        guard let level = Domain.CacheLevel(rawValue: text) else {
            throw APIError.validation("cache_level", "must be standard, aggressive or bypass")
        }
        return level
    }

    /// A browser TTL given in a request (domain settings and page rules).
    static func browserTTL(_ seconds: Int) throws -> Int {
        guard browserTTLRange.contains(seconds) else {
            throw APIError.validation("browser_ttl", "must be 3600 (1 hour) to 31536000 (1 year) seconds")
        }
        return seconds
    }

    static func domainName(_ raw: String) throws -> String {
        guard let ascii = IDNA.toASCII(raw), let host = DNSRecordContent.hostname(ascii), host.contains("."),
            let tld = host.split(separator: ".").last, tld.count >= 2, !tld.allSatisfy(\.isNumber), IPAddress(host) == nil
        else { throw APIError.validation("domain", "must be a domain name like example.com") }
        return host
    }

    // MARK: Records

    public struct RecordDraft: Decodable, Sendable {
        var name: String?
        var type: String?
        var content: String?
        var ttl: Int?
        var priority: Int?
        var proxied: Bool?
    }

    public func records(of domain: Domain) async throws -> [DomainRecord] {
        try await DomainRecord.query(on: db).filter(\.$domain.$id == domain.id!).sort(\.$name).sort(\.$type).all()
    }

    public func record(_ id: UUID, of domain: Domain) async throws -> DomainRecord {
        guard let record = try await DomainRecord.query(on: db).filter(\.$id == id).filter(\.$domain.$id == domain.id!).first() else {
            throw APIError.notFound("Record")
        }
        return record
    }

    public func addRecord(_ draft: RecordDraft, to domain: Domain) async throws -> DomainRecord {
        let record = DomainRecord()
        record.$domain.id = domain.id!
        try await fill(record, from: draft, domain: domain, creating: true)
        try await db.transaction { db in
            try await record.create(on: db)
            try await touch(domain, on: db)
        }
        feed.changed()
        return record
    }

    public func updateRecord(_ record: DomainRecord, with draft: RecordDraft, domain: Domain) async throws -> DomainRecord {
        try await fill(record, from: draft, domain: domain, creating: false)
        try await db.transaction { db in
            try await record.save(on: db)
            try await touch(domain, on: db)
        }
        feed.changed()
        return record
    }

    public func deleteRecord(_ record: DomainRecord, domain: Domain) async throws {
        try await db.transaction { db in
            try await record.delete(on: db)
            try await touch(domain, on: db)
        }
        feed.changed()
    }

    static let maxRecordsPerDomain = 3500

    func fill(_ record: DomainRecord, from draft: RecordDraft, domain: Domain, creating: Bool) async throws {
        let type = (draft.type ?? (creating ? "" : record.type)).uppercased()
        guard DNSRecordContent.types.contains(type) else {
            throw APIError.validation("type", "must be one of \(DNSRecordContent.types.joined(separator: ", "))")
        }
        let name: String
        do {
            name = try DNSRecordContent.relativeName(draft.name ?? (creating ? "@" : record.name), zone: domain.name)
            let normalised = try DNSRecordContent.normalise(
                type: type, content: draft.content ?? (creating ? "" : record.content),
                priority: draft.priority ?? (creating ? nil : record.priority))
            record.content = normalised.content
            record.priority = normalised.priority
        } catch let invalid as DNSRecordContent.Invalid {
            throw APIError.validation(invalid.field, invalid.message)
        }
        let ttl = draft.ttl ?? (creating ? 0 : record.ttl)
        guard ttl == 0 || (60...86_400).contains(ttl) else { throw APIError.validation("ttl", "must be 0 (auto) or 60 to 86400 seconds") }
        let proxied = draft.proxied ?? (creating ? false : record.proxied)
        if proxied, !DNSRecordContent.proxiableTypes.contains(type) {
            throw APIError.validation("proxied", "only A, AAAA and CNAME records can be proxied")
        }
        if proxied, type != "CNAME", let ip = IPAddress(record.content), let refusal = originPolicy.refusal(ip) {
            throw APIError.validation("content", "a proxied record must point at a public address: \(refusal)")
        }
        if name == "@", type == "NS" {
            throw APIError.validation("name", "the apex NS records are DCDN's; add NS records only for subdomains")
        }
        if name == "@", type == "CNAME", !proxied {
            throw APIError.validation("type", "a CNAME at the apex must be proxied (it is then answered with addresses)")
        }
        record.name = name
        record.type = type
        record.ttl = ttl
        record.proxied = proxied
        // A CNAME is alone at its name (RFC 1034 §3.6.2).
        let others = try await DomainRecord.query(on: db).filter(\.$domain.$id == domain.id!).filter(\.$name == name).all().filter {
            $0.id != record.id
        }
        if others.contains(where: { $0.type == type && $0.content == record.content }) {
            throw APIError.conflict("This record exists already.", code: .duplicateRecord)
        }
        if type == "CNAME", !others.isEmpty {
            throw APIError.conflict("\(name) already has records; a CNAME must be the only record at its name.", code: .cnameConflict)
        }
        if others.contains(where: { $0.type == "CNAME" }) {
            throw APIError.conflict("\(name) has a CNAME; it cannot have other records.", code: .cnameConflict)
        }
        if creating, try await DomainRecord.query(on: db).filter(\.$domain.$id == domain.id!).count() >= Self.maxRecordsPerDomain {
            throw APIError.conflict("A domain can have at most \(Self.maxRecordsPerDomain) records.", code: .tooManyRecords)
        }
    }
}

extension DomainService {
    /// The domain a route's `:id` names, if the signed-in user owns it; else 404 (another
    /// tenant's ID is not found).
    func domain(in context: AppRequestContext) async throws -> Domain {
        try await domain(try context.parameters.uuid("id", what: "Domain"), of: try context.requireIdentity().user)
    }
}
