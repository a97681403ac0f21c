import DCDNCore
import Foundation
import GeoIP
import HTTPTypes
import Logging
import NodeProtocol
import Synchronization
import WAFKit

/// A domain's firewall compiled when configuration arrives (a class: requests share it, not copy it).
final class SecurityPolicy: Sendable {
    let allow: IPRangeSet
    let block: IPRangeSet
    let countryAllow: Set<UInt16>
    let countryBlock: Set<UInt16>
    let rules: [FirewallRule]
    let rateLimits: [RateLimit]
    let waf: ManagedWAF
    let clearanceMinutes: Int
    let underAttack: Bool

    init(_ domain: EdgeDomainConfig) {
        let config = domain.security ?? SecurityConfig()
        allow = IPRangeSet(config.ipAllow)
        block = IPRangeSet(config.ipBlock)
        countryAllow = Set(config.countryAllow.compactMap(GeoIPDatabase.packed))
        countryBlock = Set(config.countryBlock.compactMap(GeoIPDatabase.packed))
        rules = config.firewallRules.compactMap(FirewallRule.init)
        rateLimits = config.rateLimits.compactMap(RateLimit.init)
        waf = ManagedWAF(sensitivity: config.wafSensitivity)
        clearanceMinutes = config.clearanceMinutes
        underAttack = domain.underAttack
    }
}

/// The network-wide part: sanctions and the challenge's key.
struct NetworkProtection: Sendable {
    /// Packed country codes (`GeoIPDatabase.packed`).
    let sanctioned: Set<UInt16>
    let challenge: UnderAttackChallenge

    init(_ config: ProtectionConfig?) {
        sanctioned = Set((config?.sanctionedCountries ?? DCDNSettings.defaultSanctionedCountries).compactMap(GeoIPDatabase.packed))
        challenge = UnderAttackChallenge(config)
    }
}

/// Who is asking, as the firewall worked it out.
struct Visit: Sendable {
    let client: ClientIP?
    /// The country packed as by `GeoIPDatabase` (compared as an integer on the hot path).
    let packedCountry: UInt16?
    /// Two letters, nil when unknown.
    var country: String? { packedCountry.map(GeoIPDatabase.code) }
    /// An allow-list entry or an `allow` rule matched: no rate limits, WAF or challenges.
    var trusted = false
    /// The managed WAF's verdict on the head, to which the body's findings add (one score a request).
    var wafVerdict = ManagedWAF.Verdict()
}

/// What the firewall decided for a request.
enum Screening: Sendable {
    case pass
    case refuse(Refusal)
    case challenge(Mitigation)
}

/// A request the edge answers with an error page instead of the site.
struct Refusal: Sendable {
    let status: HTTPResponse.Status
    let mitigation: Mitigation?
    let title: String
    let message: String
    var retryAfter: Int?
}

/// The edge's request-path defences (product guide §9, §14): sanctions, IP and country lists,
/// custom rules, the managed WAF, Under Attack Mode, rate limits, the flood defence and the bound
/// on requests in progress. `screen` only looks; `admit` counts, once per answered request.
final class EdgeSecurity: Sendable {
    let settings: EdgeProtectionSettings
    let geoIP: GeoIPDatabase?
    let testCountryField: HTTPField.Name?
    let traffic = TrafficGuard()
    let detector: AttackDetector
    let connections = ConnectionCounter()
    private let inFlight = Atomic<Int>(0)

    init(settings: EdgeProtectionSettings, geoIP: GeoIPDatabase?) {
        self.settings = settings
        self.geoIP = geoIP
        testCountryField = settings.testCountryHeader.flatMap { HTTPField.Name($0) }
        detector = AttackDetector(
            thresholds: .init(clientRPS: settings.floodClientRPS, domainRPS: settings.floodDomainRPS), geoIP: geoIP)
    }

    func visit(_ head: HTTPRequest, client: ClientIP?) -> Visit {
        guard settings.enabled else { return Visit(client: client, packedCountry: nil) }
        if let testCountryField, let claimed = head.headerFields[testCountryField], let packed = GeoIPDatabase.packed(claimed) {
            return Visit(client: client, packedCountry: packed)
        }
        guard let client, let geoIP else { return Visit(client: client, packedCountry: nil) }
        let packed = client.isIPv4 ? geoIP.packedCountry(ipv4: UInt32(client.value)) : geoIP.packedCountry(ipv6: client.value)
        return Visit(client: client, packedCountry: packed)
    }

    /// The checks that only look at the request, in Cloudflare's order: sanctions, allow list,
    /// block lists, custom rules, managed WAF, Under Attack Mode.
    func screen(_ facts: RequestFacts, visit: inout Visit, domain: String, policy: SecurityPolicy, network: NetworkProtection) -> Screening
    {
        guard settings.enabled else { return .pass }
        if let packed = visit.packedCountry, network.sanctioned.contains(packed), let country = visit.country {
            return .refuse(
                Refusal(
                    status: .init(code: 451), mitigation: .geoipBlock, title: "Unavailable for legal reasons",
                    message: "This site cannot be served to visitors in your country (\(country)) because of sanctions."))
        }
        if let client = visit.client, policy.allow.contains(client) {
            visit.trusted = true
            return .pass
        }
        if let client = visit.client, policy.block.contains(client) {
            return .refuse(Self.forbidden(.ipBlacklist, "The site's owner does not accept requests from your address."))
        }
        if !policy.countryAllow.isEmpty || !policy.countryBlock.isEmpty {
            let country = visit.packedCountry ?? AttackDetector.unknownCountry
            if policy.countryBlock.contains(country) || (!policy.countryAllow.isEmpty && !policy.countryAllow.contains(country)) {
                return .refuse(Self.forbidden(.geoipBlock, "The site's owner does not accept requests from your country."))
            }
        }
        for rule in policy.rules where rule.matches(facts) {
            switch rule.action {
            case .allow:
                visit.trusted = true
                return .pass
            case .block: return .refuse(Self.forbidden(.wafRules, "A firewall rule of the site blocked this request."))
            case .challenge:
                if !cleared(facts, visit: visit, domain: domain, network: network) { return .challenge(.wafRules) }
            case .log: break
            }
        }
        if policy.waf.isOn {
            let verdict = policy.waf.inspect(
                method: facts.head.method.rawValue, target: facts.target,
                headers: facts.head.headerFields.lazy.map { ($0.name.canonicalName, $0.value) })
            if verdict.blocked { return .refuse(Self.wafRefusal(verdict)) }
            visit.wafVerdict = verdict
        }
        if policy.underAttack, !cleared(facts, visit: visit, domain: domain, network: network) {
            return .challenge(.jsChallenge)
        }
        return .pass
    }

    /// Counts the request (flood defence, rate limits, attack detection) and says whether it may
    /// be answered. Called once for each request the site answers.
    func admit(_ facts: RequestFacts, visit: Visit, domain: String, policy: SecurityPolicy, network: NetworkProtection) -> Screening {
        guard settings.enabled else { return .pass }
        let now = Date().timeIntervalSince1970
        let (flooded, usual) = detector.record(domain: domain, country: visit.packedCountry, now: now)
        guard !visit.trusted, let client = visit.client else { return .pass }
        // The bound adapts to the domain's own traffic: one visitor (an office NAT, a carrier's
        // CGNAT address, an API client) may send as much as the whole domain usually gets. While
        // many sources flood the domain, each is held to a tenth of it.
        let bound = max(settings.floodClientRPS, usual ?? 0)
        let threshold = flooded ? max(5, bound / 10) : bound
        let (flood, started) = traffic.countFlood(domain: domain, client: client, threshold: threshold, now: now)
        if started { detector.clientFlood(domain: domain, client: client, now: now) }
        switch flood {
        case .block(let until):
            return .refuse(Self.tooMany(until: until, now: now))
        case .challenge(let until):
            if !cleared(facts, visit: visit, domain: domain, network: network) {
                return Self.isBrowserNavigation(facts.head) ? .challenge(.jsChallenge) : .refuse(Self.tooMany(until: until, now: now))
            }
        case nil: break
        }
        let path = facts.path[...]
        for limit in policy.rateLimits where limit.applies(to: path) {
            switch traffic.count(limit, domain: domain, client: client, now: now) {
            case .block(let until): return .refuse(Self.tooMany(until: until, now: now))
            case .challenge(let until):
                if !cleared(facts, visit: visit, domain: domain, network: network) {
                    return Self.isBrowserNavigation(facts.head) ? .challenge(.rateLimiting) : .refuse(Self.tooMany(until: until, now: now))
                }
            case nil: continue
            }
        }
        return .pass
    }

    /// Counts a request answered without reaching the site (refused, challenged, redirected).
    func record(domain: String, visit: Visit) {
        detector.record(domain: domain, country: visit.packedCountry, now: Date().timeIntervalSince1970)
    }

    /// A request body's first bytes through the managed WAF (POST, PUT and PATCH to the origin),
    /// scored together with the head's findings.
    func inspectBody(_ body: [UInt8], facts: RequestFacts, visit: Visit, policy: SecurityPolicy) -> Refusal? {
        guard policy.waf.isOn else { return nil }
        let verdict = policy.waf.inspectBody(body, contentType: facts.head.headerFields[.contentType], adding: visit.wafVerdict)
        return verdict.blocked ? Self.wafRefusal(verdict) : nil
    }

    private func cleared(_ facts: RequestFacts, visit: Visit, domain: String, network: NetworkProtection) -> Bool {
        network.challenge.isCleared(facts.head.headerFields, visitor: .init(domain: domain, client: visit.client, head: facts.head))
    }

    /// Takes a slot for a request in progress; false when the node is at its bound.
    func enter() -> Bool {
        if inFlight.add(1, ordering: .relaxed).newValue > settings.maxConcurrentRequests {
            inFlight.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { inFlight.subtract(1, ordering: .relaxed) }

    static let busy = Refusal(
        status: .serviceUnavailable, mitigation: nil, title: "This DCDN node is busy",
        message: "Too many requests are in progress here. Please retry in a few seconds.", retryAfter: 5)

    static func forbidden(_ mitigation: Mitigation, _ message: String) -> Refusal {
        Refusal(status: .forbidden, mitigation: mitigation, title: "Access denied", message: message)
    }

    static func wafRefusal(_ verdict: ManagedWAF.Verdict) -> Refusal {
        let categories = Set(verdict.findings.map(\.category.rawValue)).sorted().joined(separator: ", ")
        return Refusal(
            status: .forbidden, mitigation: .wafRules, title: "Request blocked",
            message: "The site's web application firewall blocked this request (\(categories)).")
    }

    /// A browser asking for a page, which can run a JavaScript challenge: it accepts HTML and
    /// sends no Authorization. API clients, scripts and a page's own fetches (images, XHR) get a
    /// 429 with Retry-After instead, which they can act on; a challenge page they cannot pass.
    static func isBrowserNavigation(_ head: HTTPRequest) -> Bool {
        guard head.headerFields[.authorization] == nil, let accept = head.headerFields[.accept] else { return false }
        return ASCIICase.contains(accept.utf8, Array("text/html".utf8))
    }

    static func tooMany(until: Double, now: Double) -> Refusal {
        Refusal(
            status: .tooManyRequests, mitigation: .rateLimiting, title: "Too many requests",
            message: "You sent too many requests to this site. Please slow down.", retryAfter: max(1, Int((until - now).rounded(.up))))
    }
}

/// Open connections per visitor address, for the per-address cap.
final class ConnectionCounter: Sendable {
    private let open = Mutex<[ClientIP: Int]>([:])

    /// Counts a new connection; false (and not counted) when the address is at `limit`.
    func admit(_ client: ClientIP, limit: Int) -> Bool {
        open.withLock { open in
            let count = open[client, default: 0]
            guard count < limit else { return false }
            open[client] = count + 1
            return true
        }
    }

    func release(_ client: ClientIP) {
        open.withLock { open in
            if let count = open[client], count > 1 { open[client] = count - 1 } else { open.removeValue(forKey: client) }
        }
    }
}
