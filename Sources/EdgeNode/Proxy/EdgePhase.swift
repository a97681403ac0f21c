import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird
import NodeProtocol
import WAFKit

/// One request on its way through the edge's phases: what the phases before have decided.
struct EdgeFlow {
    let head: HTTPRequest
    let client: ClientIP?
    /// The routes in force when the request arrived: every phase sees the same configuration.
    let routes: EdgeRoutes
    /// Set by the route phase.
    var route: EdgeRoutes.Route!
    /// The Host header's name, normalised.
    var host = ""
    /// Path and query as the visitor sent them, starting with "/": what the cache keys on and
    /// the origin gets.
    var target = "/"
    /// The path as the origin resolves it (`RequestPath.normalize`): what firewall rules, rate
    /// limits and page rules match.
    var path = "/"
    /// Set by the firewall phase: the visitor's address, country and trust.
    var visit: Visit!
    /// Set by the page-rule phase: the cache settings after the matching page rule.
    var settings: CacheSettings!
    /// Set by the admission phase: the request holds a place under the node's concurrency cap.
    var entered = false

    init(head: HTTPRequest, client: ClientIP?, routes: EdgeRoutes) {
        self.head = head
        self.client = client
        self.routes = routes
    }

    var facts: RequestFacts {
        RequestFacts(
            head: head, client: visit?.client ?? client, packedCountry: visit?.packedCountry, host: host, target: target, path: path)
    }
}

/// How a phase answers a request it ends: the response is made only on the full path (the
/// in-memory hit path only needs to know that the request does not go on).
typealias EdgeAnswer = @Sendable (_ request: Request, _ flow: EdgeFlow) async throws -> Response

/// A step of the edge's request flow, in the manner of Pingora's proxy phases. `EdgeProxy`
/// runs `headPhases` (route → ACME → firewall → page rules) on every request's head, then, on the
/// full path only, `requestPhases` (admission → WAF body inspection), then the cache lookup or
/// the upstream request. Edge functions, geo A/B routing and the payment gate plug in as phases,
/// without editing the proxy.
protocol EdgeHeadPhase: Sendable {
    /// Decides on the request's head alone, before anything is counted, read or fetched;
    /// synchronous, so that the in-memory hit path can run it on the event loop. Returns an
    /// answer to end the flow, nil to go on.
    func requestFilter(_ flow: inout EdgeFlow) -> EdgeAnswer?
}

/// A step that runs on the full path, after the head phases and before the cache or the origin:
/// it may count (rate limits), read the body, or answer.
protocol EdgeRequestPhase: Sendable {
    /// Returns a response to end the flow, nil to go on; may replace the body it read.
    func requestFilter(_ request: inout Request, _ flow: inout EdgeFlow) async throws -> Response?
}

/// Host → route, and the CDN-Loop check (RFC 8586): a request DCDN already forwarded is refused.
struct RoutePhase: EdgeHeadPhase {
    func requestFilter(_ flow: inout EdgeFlow) -> EdgeAnswer? {
        guard let authority = flow.head.authority, let route = flow.routes.route(forName: EdgeRoutes.hostName(authority)) else {
            return { _, _ in EdgePages.page(.notFound, title: "Unknown site", message: "This DCDN node does not serve that site.") }
        }
        if flow.head.headerFields[values: .cdnLoop].contains(where: { $0.lowercased().contains(OriginFetcher.loopToken) }) {
            return { _, _ in
                EdgePages.page(
                    .init(code: 508), title: "Loop detected", message: "This request already passed through DCDN.", domain: route.domain)
            }
        }
        flow.route = route
        flow.host = EdgeRoutes.hostName(authority)
        let path = flow.head.path ?? "/"
        flow.target = path.hasPrefix("/") ? path : "/" + path
        flow.path = RequestPath.path(of: flow.target)
        return nil
    }
}

/// The CA checking a domain's HTTP-01 challenge gets the key authorization, never cached.
struct ACMEChallengePhase: EdgeHeadPhase {
    static let prefix = "/.well-known/acme-challenge/"
    let state: EdgeState

    func requestFilter(_ flow: inout EdgeFlow) -> EdgeAnswer? {
        guard flow.target.hasPrefix(Self.prefix),
            let answer = flow.route.site.acmeChallenges[String(flow.target.dropFirst(Self.prefix.count))]
        else { return nil }
        let domain = flow.route.domain
        return { [state] _, _ in
            state.count(domain, status: 200, bytes: answer.utf8.count, hit: false)
            return Response(
                status: .ok, headers: [.contentType: "text/plain", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
    }
}

/// The firewall on the head (product guide §9): sanctions, lists, custom rules, the managed WAF
/// on the URL and headers, Under Attack Mode — and a browser posting a solved challenge.
struct FirewallPhase: EdgeHeadPhase {
    let answers: EdgeAnswers

    func requestFilter(_ flow: inout EdgeFlow) -> EdgeAnswer? {
        let security = answers.security
        var visit = security.visit(flow.head, client: flow.client)
        let route = flow.route!
        if flow.head.method == .post, flow.target == UnderAttackChallenge.path {
            let settled = visit
            return { [answers] request, _ in
                security.record(domain: route.domain, visit: settled)
                return try await answers.answerChallenge(request, route: route, visit: settled)
            }
        }
        flow.visit = visit
        let decision = security.screen(
            flow.facts, visit: &visit, domain: route.domain, policy: route.site.security, network: flow.routes.network)
        flow.visit = visit
        let settled = visit
        switch decision {
        case .pass: return nil
        case .refuse(let refusal):
            return { [answers] _, _ in
                security.record(domain: route.domain, visit: settled)
                return answers.refuse(refusal, domain: route.domain)
            }
        case .challenge(let mitigation):
            let target = flow.target
            return { [answers] request, _ in
                security.record(domain: route.domain, visit: settled)
                return answers.challenge(mitigation, head: request.head, route: route, target: target, visit: settled)
            }
        }
    }
}

/// SSL mode off, then the first matching page rule: forwarding URLs and Always Use HTTPS answer
/// with a redirect; otherwise the rule's cache settings apply.
struct PageRulePhase: EdgeHeadPhase {
    let answers: EdgeAnswers
    /// Development mode's three hours end on the cache's clock.
    let clock: CacheClock

    func requestFilter(_ flow: inout EdgeFlow) -> EdgeAnswer? {
        let route = flow.route!
        let scheme = flow.head.scheme ?? "http"
        let authority = flow.head.authority ?? flow.host
        if scheme == "https", route.site.httpsOff {
            return redirect("http://\(authority)\(flow.target)", status: 301, domain: route.domain)
        }
        // Matched on the normalised path, as the firewall's rules are; the query as sent. The URL
        // is only built when the domain has rules (this runs for every hit).
        var matched: (PageRuleConfig, [String])?
        if !route.site.rules.isEmpty {
            let target = flow.target.utf8
            let query = target.firstIndex(of: UInt8(ascii: "?")).map { flow.target[$0...] } ?? ""
            matched = route.site.rule(scheme: scheme, url: flow.host + flow.path + query)
        }
        if let (rule, captures) = matched {
            if let forwarding = rule.forwardingUrl {
                return redirect(
                    PageRulePattern.substitute(forwarding, captures: captures), status: rule.forwardingStatus ?? 302, domain: route.domain)
            }
            if rule.alwaysHttps == true, scheme == "http" {
                return redirect("https://\(authority)\(flow.target)", status: 301, domain: route.domain)
            }
        }
        flow.settings = route.site.settings(rule: matched?.0, now: Date(timeIntervalSince1970: clock.now()))
        return nil
    }

    private func redirect(_ location: String, status: Int, domain: String) -> EdgeAnswer {
        { [answers] _, _ in answers.redirect(to: location, status: status, domain: domain) }
    }
}

/// Rate limits and flood defence, counted once a request is past the head phases (the in-memory
/// hit path counts them only when it answers), then the node's concurrency cap (left when the
/// proxy has answered: `EdgeFlow.entered`).
struct AdmissionPhase: EdgeRequestPhase {
    let answers: EdgeAnswers

    func requestFilter(_ request: inout Request, _ flow: inout EdgeFlow) async throws -> Response? {
        let route = flow.route!
        switch answers.security.admit(
            flow.facts, visit: flow.visit, domain: route.domain, policy: route.site.security, network: flow.routes.network)
        {
        case .pass:
            guard answers.security.enter() else { return answers.refuse(EdgeSecurity.busy, domain: route.domain) }
            flow.entered = true
            return nil
        case .refuse(let refusal): return answers.refuse(refusal, domain: route.domain)
        case .challenge(let mitigation):
            return answers.challenge(mitigation, head: request.head, route: route, target: flow.target, visit: flow.visit)
        }
    }
}

/// The managed WAF on request bodies (forms, JSON, XML, multipart): the first `bodyLimit` bytes
/// are inspected, and the whole body still reaches the origin.
struct WAFBodyPhase: EdgeRequestPhase {
    let answers: EdgeAnswers

    func requestFilter(_ request: inout Request, _ flow: inout EdgeFlow) async throws -> Response? {
        let route = flow.route!
        let security = answers.security
        guard !flow.visit.trusted, security.settings.enabled, [.post, .put, .patch].contains(request.method),
            route.site.security.waf.isOn, ManagedWAF.inspectsBody(contentType: request.headers[.contentType])
        else { return nil }
        let (prefix, rest) = try await EdgeAnswers.splitBody(request.body, limit: ManagedWAF.bodyLimit)
        if let refusal = security.inspectBody(prefix, facts: flow.facts, visit: flow.visit, policy: route.site.security) {
            return answers.refuse(refusal, domain: route.domain)
        }
        request.body = rest
        return nil
    }
}
