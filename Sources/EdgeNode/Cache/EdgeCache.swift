import AsyncHTTPClient
import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The RFC 9111 shared cache in front of the origin: lookup with Vary, freshness and Age,
/// revalidation with validators, stale-while-revalidate and stale-if-error (and stale content
/// while the origin is down), collapsed forwarding, HEAD and Range served from stored GETs,
/// compression for clients that accept it, and Cache-Status (RFC 9211) on every response.
struct EdgeCache: Sendable {
    let store: CacheStore
    let flights: FlightTable
    let origins: OriginFetcher
    let state: EdgeState
    let compressed: CompressedVariants
    /// How long a request waits for another's fetch of the same URL.
    var collapseTimeout: Duration = .seconds(10)
    /// Freshness and ages are computed on this clock (the origin fetcher's, so that request and
    /// response times agree).
    var clock: CacheClock { origins.clock }

    func respond(_ exchange: Exchange, settings: CacheSettings) async throws -> Response {
        if let reason = settings.bypass {
            let outcome = await origins.fetch(exchange, method: exchange.method)
            guard case .response(let origin, _) = outcome else { return origins.failurePage(outcome, exchange: exchange, state: state) }
            let fields = OriginFetcher.fields(OriginFetcher.storedHeaders(origin.headers))
            return deliver(
                Delivery(status: Int(origin.status.code), fields: fields, source: .stream(origin.body)), exchange: exchange,
                cacheStatus: "fwd=bypass; detail=\(reason)", hit: false)
        }
        let reason: String
        switch store.lookup(key: exchange.cacheKey, request: exchange.headers) {
        case .found(let entry): return try await use(entry, exchange: exchange, settings: settings)
        case .varyMiss: reason = "vary-miss"
        case .uriMiss: reason = "uri-miss"
        }
        return try await miss(exchange, settings: settings, reason: reason)
    }

    /// A stored response: fresh, stale but usable while revalidating, or revalidated now.
    private func use(_ entry: CacheStore.Entry, exchange: Exchange, settings: CacheSettings) async throws -> Response {
        let now = clock.now()
        let stored = entry.response
        let ttl = stored.ttl(now: now)
        if ttl > 0, !stored.noCache {
            return serve(entry, exchange: exchange, settings: settings, cacheStatus: "hit; ttl=\(Int(ttl))", now: now)
        }
        if stored.mayServeStale, stored.staleWhileRevalidate > 0, -ttl <= stored.staleWhileRevalidate {
            if let ticket = flights.lead("revalidate " + stored.entryID) {
                Task { await revalidateInBackground(entry, exchange: exchange, settings: settings, ticket: ticket) }
            }
            return serve(
                entry, exchange: exchange, settings: settings, cacheStatus: "hit; ttl=\(Int(ttl)); detail=stale-while-revalidate", now: now)
        }
        return try await revalidate(entry, exchange: exchange, settings: settings)
    }

    private func revalidate(_ entry: CacheStore.Entry, exchange: Exchange, settings: CacheSettings) async throws -> Response {
        let stored = entry.response
        let outcome = await origins.fetch(exchange, method: .get, cacheFill: true, validators: stored.validators)
        let now = clock.now()
        guard case .response(let origin, let requestTime) = outcome else {
            // Disconnected from the origin: RFC 9111 §4.2.4 lets a cache serve stale unless
            // forbidden (must-revalidate, s-maxage, and no-cache, which allows no use without a
            // successful revalidation: §5.2.2.4).
            if stored.mayServeStale {
                return serve(
                    entry, exchange: exchange, settings: settings,
                    cacheStatus: "fwd=stale; ttl=\(Int(stored.ttl(now: now))); detail=origin-unreachable", now: now)
            }
            return origins.failurePage(outcome, exchange: exchange, state: state)
        }
        let status = Int(origin.status.code)
        if status == 304 {
            let (updated, storable) = refreshed(
                stored, with: origin, exchange: exchange, settings: settings, requestTime: requestTime, now: now)
            // The visitor who asked gets the 304's fields (their own Set-Cookie included); the
            // shared copy is updated only if the merged response may be stored, as a 200 would.
            if storable { store.update(updated) } else { store.remove(entryID: stored.entryID) }
            return serve(
                CacheStore.Entry(response: updated, body: entry.body), exchange: exchange, settings: settings,
                cacheStatus: "fwd=stale; fwd-status=304; ttl=\(Int(updated.ttl(now: now)))\(storable ? "" : "; detail=not-stored")",
                now: now)
        }
        if status >= 500, stored.mayServeStale, -stored.ttl(now: now) <= stored.staleIfError {
            return serve(
                entry, exchange: exchange, settings: settings,
                cacheStatus: "fwd=stale; fwd-status=\(status); ttl=\(Int(stored.ttl(now: now))); detail=stale-if-error", now: now)
        }
        return fromOrigin(origin, requestTime: requestTime, exchange: exchange, settings: settings, forward: "stale", ticket: nil)
    }

    private func revalidateInBackground(
        _ entry: CacheStore.Entry, exchange: Exchange, settings: CacheSettings, ticket: FlightTable.Ticket
    ) async {
        defer { ticket.finish() }
        let stored = entry.response
        guard
            case .response(let origin, let requestTime) = await origins.fetch(
                exchange, method: .get, cacheFill: true, validators: stored.validators)
        else { return }
        let now = clock.now()
        if origin.status == .notModified {
            let (updated, storable) = refreshed(
                stored, with: origin, exchange: exchange, settings: settings, requestTime: requestTime, now: now)
            if storable { store.update(updated) } else { store.remove(entryID: stored.entryID) }
            return
        }
        let headers = OriginFetcher.storedHeaders(origin.headers)
        guard
            var response = storable(
                Int(origin.status.code), headers: headers, exchange: exchange, settings: settings, requestTime: requestTime, now: now)
        else {
            return
        }
        let writer = store.writer()
        do {
            for try await chunk in origin.body { writer.append(chunk) }
        } catch { return }
        response.variant = CachePolicy.variant(response.vary, request: exchange.headers)
        if Self.complete(writer, headers: origin.headers) { store.store(response, from: writer) }
    }

    private func miss(_ exchange: Exchange, settings: CacheSettings, reason: String) async throws -> Response {
        let key = exchange.cacheKey
        // HEAD misses are forwarded as HEAD: nothing to store.
        if exchange.isHead {
            let outcome = await origins.fetch(exchange, method: .head)
            guard case .response(let origin, let requestTime) = outcome else {
                return origins.failurePage(outcome, exchange: exchange, state: state)
            }
            return fromOrigin(
                origin, requestTime: requestTime, exchange: exchange, settings: settings, forward: reason, ticket: nil, store: false)
        }
        var ticket = flights.lead(key)
        if ticket == nil {
            _ = await flights.follow(key, timeout: collapseTimeout)
            if case .found(let entry) = store.lookup(key: key, request: exchange.headers) {
                let now = clock.now()
                return serve(
                    entry, exchange: exchange, settings: settings, cacheStatus: "hit; ttl=\(Int(entry.response.ttl(now: now))); collapsed",
                    now: now)
            }
            ticket = flights.lead(key)
        }
        let outcome = await origins.fetch(exchange, method: .get, cacheFill: true)
        guard case .response(let origin, let requestTime) = outcome else {
            ticket?.finish()
            return origins.failurePage(outcome, exchange: exchange, state: state)
        }
        return fromOrigin(origin, requestTime: requestTime, exchange: exchange, settings: settings, forward: reason, ticket: ticket)
    }

    /// Streams the origin's answer to the visitor, storing it on the way when it may be stored.
    private func fromOrigin(
        _ origin: HTTPClientResponse, requestTime: Double, exchange: Exchange, settings: CacheSettings, forward: String,
        ticket: FlightTable.Ticket?, store storing: Bool = true
    ) -> Response {
        let now = clock.now()
        let status = Int(origin.status.code)
        let headers = OriginFetcher.storedHeaders(origin.headers)
        var delivery = Delivery(status: status, fields: OriginFetcher.fields(headers), source: .stream(origin.body))
        var cacheStatus = "fwd=\(forward); fwd-status=\(status)"
        if storing,
            var response = storable(status, headers: headers, exchange: exchange, settings: settings, requestTime: requestTime, now: now)
        {
            response.variant = CachePolicy.variant(response.vary, request: exchange.headers)
            let writer = store.writer()
            let originHeaders = origin.headers
            let store = self.store
            delivery.writer = writer
            let stored = response
            delivery.onEnd = { complete in
                if complete, Self.complete(writer, headers: originHeaders) { store.store(stored, from: writer) } else { writer.abandon() }
                ticket?.finish()
            }
            cacheStatus += "; stored"
            Self.applyBrowserTTL(&delivery.fields, settings: settings)
        } else {
            delivery.onEnd = { _ in ticket?.finish() }
        }
        return deliver(delivery, exchange: exchange, cacheStatus: cacheStatus, hit: false)
    }

    /// The CachedResponse for an origin answer (its end-to-end fields), or nil when it must not be stored.
    private func storable(
        _ status: Int, headers: [[String]], exchange: Exchange, settings: CacheSettings, requestTime: Double, now: Double
    ) -> CachedResponse? {
        guard
            var response = CachePolicy.storable(
                status: status, headers: OriginFetcher.fields(headers), requestHasAuthorization: exchange.headers[.authorization] != nil,
                path: exchange.target, settings: settings, now: now, requestTime: requestTime)
        else { return nil }
        response.key = exchange.cacheKey
        response.domain = exchange.route.domain
        response.headers = headers
        return response
    }

    /// A stored response updated by a 304 (RFC 9111 §4.3.4): new fields replace stored ones. The
    /// merged response goes through the same storability rules as a fresh 200 (`storable`):
    /// a 304 that adds Set-Cookie, `private` or `no-store` leaves nothing to store, and the stale
    /// copy is dropped rather than kept with the new fields or refreshed without them.
    private func refreshed(
        _ stored: CachedResponse, with origin: HTTPClientResponse, exchange: Exchange, settings: CacheSettings, requestTime: Double,
        now: Double
    ) -> (response: CachedResponse, storable: Bool) {
        let skip: Set<String> = ["content-length", "content-encoding", "transfer-encoding", "content-range"]
        let fresh = OriginFetcher.storedHeaders(origin.headers).filter { !skip.contains($0[0].lowercased()) }
        let replaced = Set(fresh.map { $0[0].lowercased() })
        let headers = stored.headers.filter { !replaced.contains($0[0].lowercased()) } + fresh
        let policy = CachePolicy.storable(
            status: stored.status, headers: OriginFetcher.fields(headers),
            requestHasAuthorization: exchange.headers[.authorization] != nil, path: exchange.target, settings: settings, now: now,
            requestTime: requestTime)
        var updated = policy ?? stored
        updated.key = stored.key
        updated.variant = stored.variant
        updated.domain = stored.domain
        updated.headers = headers
        updated.bodyLength = stored.bodyLength
        updated.bodyFile = stored.bodyFile
        if updated.responseTime == stored.responseTime { updated.responseTime = now }
        return (updated, policy != nil)
    }

    /// A fresh response in the memory tier as HTTP/1.1 bytes, without suspending (see
    /// `HitFastPath`). Plain GET and HEAD requests reuse this thread's last answer for the object
    /// while it would come out the same; conditional and range requests are prepared each time.
    func fastHit(_ exchange: Exchange, settings: CacheSettings) -> HitMemo.Answer? {
        guard settings.bypass == nil,
            case .found(let entry) = store.lookup(key: exchange.cacheKey, request: exchange.headers, memoryOnly: true)
        else { return nil }
        let now = clock.now()
        let ttl = entry.response.ttl(now: now)
        guard ttl > 0, !entry.response.noCache else { return nil }
        let plain = !exchange.headers.contains { $0.name == .range || $0.name.canonicalName.hasPrefix("if-") }
        let key = HitMemo.Key(
            responseTime: entry.response.responseTime, age: Int(entry.response.age(now: now)), ttl: Int(ttl), isHead: exchange.isHead,
            acceptEncoding: exchange.headers[.acceptEncoding], settings: settings)
        let memo = HitMemo.current
        let id = entry.response.entryID
        if plain, let answer = memo.answer(for: id, key: key) {
            state.count(exchange.route.domain, status: answer.status, bytes: answer.body?.readableBytes ?? 0, hit: true)
            return answer
        }
        let (delivery, entryID) = hit(entry, settings: settings, now: now)
        guard
            case .buffered(let status, let fields, let body) = prepare(
                delivery, exchange: exchange, cacheStatus: "hit; ttl=\(key.ttl)", hit: true, entryID: entryID)
        else { return nil }
        var sized = fields
        if let body, sized[.contentLength] == nil { sized[.contentLength] = String(body.readableBytes) }
        let answer = HitMemo.Answer(
            key: key, status: Int(status.code), head: HitMemo.wireHead(status, fields, body: body),
            response: HTTPResponse(status: status, headerFields: sized), body: body)
        if plain { memo.remember(answer, for: id) }
        return answer
    }

    /// A stored response to the visitor, with Age and the browser TTL.
    private func serve(_ entry: CacheStore.Entry, exchange: Exchange, settings: CacheSettings, cacheStatus: String, now: Double) -> Response
    {
        let (delivery, entryID) = hit(entry, settings: settings, now: now)
        return deliver(delivery, exchange: exchange, cacheStatus: cacheStatus, hit: true, entryID: entryID)
    }

    /// A stored response as a delivery, and the ID its compressed copies are kept under.
    private func hit(_ entry: CacheStore.Entry, settings: CacheSettings, now: Double) -> (Delivery, String) {
        var fields = entry.response.fields
        Self.decorate(&fields)
        fields[.age] = String(Int(entry.response.age(now: now)))
        Self.applyBrowserTTL(&fields, settings: settings, control: entry.response.control)
        let source: Delivery.Source
        switch entry.body {
        case .memory(let buffer): source = .buffer(buffer)
        case .file(let path): source = .file(path, length: entry.response.bodyLength)
        }
        var delivery = Delivery(status: entry.response.status, fields: fields, source: source)
        delivery.decorated = true
        return (
            delivery,
            entry.response.entryID + "\u{0}\(entry.response.responseTime)"
        )
    }

    /// Visitors' browsers get the browser TTL when the origin said nothing about their cache
    /// (no max-age, no Expires), or always under a page rule's browser TTL; never when the origin
    /// forbids storing or reuse without revalidation.
    static func applyBrowserTTL(_ fields: inout HTTPFields, settings: CacheSettings, control parsed: HTTPCache.CacheControl? = nil) {
        let control = parsed ?? HTTPCache.CacheControl(fields[values: .cacheControl])
        guard !control.noStore, !control.noCache, !control.isPrivate else { return }
        guard settings.browserTTLOverrides || (control.maxAge == nil && fields[.expires] == nil) else { return }
        var directives = fields[values: .cacheControl].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.lowercased().hasPrefix("max-age") && !$0.isEmpty }
        directives.append("max-age=\(settings.browserTTL)")
        fields[.cacheControl] = directives.joined(separator: ", ")
        fields[.expires] = nil
    }

    /// The body arrived whole: as long as the origin's Content-Length said, if it said one.
    static func complete(_ writer: CacheWriter, headers: HTTPHeaders) -> Bool {
        guard !writer.failed else { return false }
        if let declared = headers.first(name: "Content-Length").flatMap(Int.init) { return declared == writer.length }
        return true
    }

    /// `host/path?query` for a URL or path naming `host`, else nil.
    static func sameHostKey(_ value: String, host: String) -> String? {
        if value.hasPrefix("/") { return host + value }
        guard let url = URL(string: value), let urlHost = url.host?.lowercased(), urlHost == host else { return nil }
        let path = url.path.isEmpty ? "/" : url.path
        return host + path + (url.query.map { "?" + $0 } ?? "")
    }
}
