import Foundation
import HTTPTypes
import Testing

@testable import HTTPCache

@Suite("HTTP cache policy (RFC 9111)")
struct CachePolicyTests {
    static let standard = CacheSettings(level: .standard, edgeTTL: 3600, edgeTTLOverrides: false, browserTTL: 14_400, bypass: nil)

    func storable(_ headers: HTTPFields, status: Int = 200, path: String = "/page", settings: CacheSettings = standard, auth: Bool = false)
        -> CachedResponse?
    {
        let now = Date().timeIntervalSince1970
        return CachePolicy.storable(
            status: status, headers: headers, requestHasAuthorization: auth, path: path, settings: settings, now: now, requestTime: now)
    }

    @Test("Cache-Control directives, with arguments, quoting and several lines")
    func cacheControl() {
        let control = CacheControl([
            "public, max-age=60, s-maxage=\"120\"", "stale-while-revalidate=30,stale-if-error=600, MUST-REVALIDATE",
        ])
        #expect(control.isPublic && control.maxAge == 60 && control.sharedMaxAge == 120 && control.sharedFreshness == 120)
        #expect(control.staleWhileRevalidate == 30 && control.staleIfError == 600 && control.mustRevalidate)
        #expect(CacheControl(["max-stale"]).maxStale == Int.max)
        #expect(CacheControl(["max-age=-5"]).maxAge == 0)
        #expect(CacheControl(["no-cache=\"Set-Cookie\", private"]).noCache)
    }

    @Test("what may be stored, and for how long")
    func storability() throws {
        #expect(storable([.cacheControl: "no-store, max-age=60"]) == nil)
        #expect(storable([.cacheControl: "private, max-age=60"]) == nil)
        #expect(storable([.cacheControl: "max-age=60", .setCookie: "a=b"]) == nil)
        #expect(storable([.cacheControl: "max-age=60", .vary: "*"]) == nil)
        #expect(storable([.cacheControl: "max-age=60"], auth: true) == nil)
        #expect(storable([.cacheControl: "public, max-age=60"], auth: true)?.freshness == 60)
        #expect(storable([.cacheControl: "max-age=60", .cdnCacheControl: "max-age=5"])?.freshness == 5, "RFC 9213 wins")
        #expect(storable([.cacheControl: "no-store", .cdnCacheControl: "max-age=5"])?.freshness == 5)
        #expect(storable([.cacheControl: "max-age=60, s-maxage=10"])?.freshness == 10)
        #expect(storable([.cacheControl: "s-maxage=10"])?.mustRevalidate == true, "s-maxage implies proxy-revalidate")
        #expect(storable([.expires: "not a date"])?.freshness == 0, "an invalid Expires is already expired")
        #expect(storable([:], path: "/page") == nil, "no validators, no freshness, not static")
        #expect(storable([:], path: "/app.js?v=3")?.freshness == 3600, "static files get the edge TTL")
        #expect(storable([.eTag: "\"x\""], path: "/page")?.freshness == 0, "stored stale to save the body on revalidation")
        let modified = HTTPDate.format(Date().timeIntervalSince1970 - 10_000)
        let heuristic = try #require(storable([.lastModified: modified]))
        #expect(abs(heuristic.freshness - 1000) < 2, "10% of the age since Last-Modified")
        #expect(storable([:], status: 418) == nil)
        #expect(storable([:], status: 302) == nil)
        #expect(storable([.cacheControl: "max-age=60"], status: 302)?.freshness == 60)
        var aggressive = Self.standard
        aggressive.level = .aggressive
        #expect(storable([:], path: "/page", settings: aggressive)?.freshness == 3600)
        var rule = Self.standard
        rule.edgeTTL = 5
        rule.edgeTTLOverrides = true
        #expect(storable([.cacheControl: "max-age=600"], settings: rule)?.freshness == 5)
        let tagged = try #require(storable([.cacheControl: "max-age=1", .cacheTag: "a, B,,c"]))
        #expect(tagged.tags == ["a", "B", "c"])
    }

    @Test("the variant key reduces Accept-Encoding to what the edge distinguishes")
    func variants() {
        let names = ["accept-encoding", "x-variant"]
        let chrome = CachePolicy.variant(names, request: [.acceptEncoding: "gzip, deflate, br, zstd", HTTPField.Name("X-Variant")!: "a"])
        let firefox = CachePolicy.variant(names, request: [.acceptEncoding: "br, gzip", HTTPField.Name("X-Variant")!: "a"])
        #expect(chrome == firefox)
        #expect(CachePolicy.variant(names, request: [.acceptEncoding: "gzip"]) != chrome)
        #expect(CachePolicy.variant([], request: [:]) == "")
    }
}
