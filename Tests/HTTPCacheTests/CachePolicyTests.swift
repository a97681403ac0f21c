import Foundation
import HTTPTypes
import Logging
import NIOCore
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
        #expect(storable([.contentType: "text/javascript"], path: "/app.js?v=3")?.freshness == 3600, "static files get the edge TTL")
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

    @Test("Cache Deception Armor: a file cached for its extension must have that extension's type")
    func deceptionArmor() {
        // An origin that answers any /account/... path with the account page.
        #expect(storable([.contentType: "text/html; charset=utf-8"], path: "/account/settings/x.css") == nil)
        #expect(storable([.contentType: "text/html"], path: "/account/settings/x.js") == nil)
        #expect(storable([.contentType: "text/html"], path: "/account/avatar.png?size=2") == nil)
        #expect(storable([.contentType: "application/json"], path: "/account/x.css") == nil)
        #expect(storable([:], path: "/account/x.css") == nil, "no Content-Type: not cached for its extension")
        #expect(storable([.contentType: "text/html"], path: "/account%2Fx.css") == nil)
        #expect(storable([.contentType: "text/css"], path: "/site.css")?.freshness == 3600)
        #expect(storable([.contentType: "TEXT/CSS; charset=UTF-8"], path: "/site.CSS")?.freshness == 3600)
        #expect(storable([.contentType: "image/png"], path: "/logo.png")?.freshness == 3600)
        #expect(storable([.contentType: "application/octet-stream"], path: "/setup.exe")?.freshness == 3600)
        #expect(storable([.contentType: "application/octet-stream"], path: "/style.css") == nil, "text types need their own type")
        // Explicit freshness from the origin, or Cache Everything, is the owner's choice.
        #expect(storable([.contentType: "text/html", .cacheControl: "max-age=60"], path: "/account/x.css")?.freshness == 60)
        var aggressive = Self.standard
        aggressive.level = .aggressive
        #expect(storable([.contentType: "text/html"], path: "/account/x.css", settings: aggressive)?.freshness == 3600)
    }

    @Test("a directive given twice with different values, or an invalid value, makes the response stale (RFC 9111 §4.2.1)")
    func duplicateDirectives() {
        #expect(CacheControl(["max-age=0, max-age=120"]).maxAge == 0)
        #expect(CacheControl(["max-age=120, max-age=0"]).maxAge == 0)
        #expect(CacheControl(["max-age=120", "max-age=60"]).maxAge == 0, "on two field lines too")
        #expect(CacheControl(["max-age=120, max-age=120"]).maxAge == 120, "the same value twice stands")
        #expect(CacheControl(["s-maxage=10, s-maxage=600"]).sharedMaxAge == 0)
        #expect(CacheControl(["stale-while-revalidate=30, stale-while-revalidate=3000"]).staleWhileRevalidate == 0)
        #expect(CacheControl(["stale-if-error=1", "stale-if-error=86400"]).staleIfError == 0)
        #expect(CacheControl(["max-age=1.5"]).maxAge == 0, "not a delta-seconds")
        #expect(CacheControl(["max-age=12abc"]).maxAge == 0)
        #expect(CacheControl(["max-age"]).maxAge == 0)
        #expect(CacheControl(["max-age=99999999999999"]).maxAge == Int(Int32.max), "saturated (§1.2.2)")
        #expect(storable([.cacheControl: "max-age=0, max-age=120"])?.freshness == 0)
        #expect(storable([.cacheControl: "max-age=120", .expires: HTTPDate.format(Date().timeIntervalSince1970 + 3600)])?.freshness == 120)
    }

    @Test("Age is a non-negative integer; anything else is ignored, and a list uses its first member (RFC 9111 §5.1)")
    func age() {
        #expect(CachePolicy.age(["30"]) == 30)
        #expect(CachePolicy.age(["30, 50"]) == 30)
        #expect(CachePolicy.age(["30", "50"]) == 30)
        #expect(CachePolicy.age([" 7 "]) == 7)
        for invalid in ["1.5", "10s", "-5", "1e3", "inf", "nan", "", "0x10", "+3", "abc"] {
            #expect(CachePolicy.age([invalid]) == 0, "\(invalid)")
        }
        #expect(CachePolicy.age(["99999999999999999999"]) == Int(Int32.max))
        let aged = storable([.cacheControl: "max-age=100", .age: "nan"])
        #expect(aged?.initialAge == 0 && aged?.ttl(now: aged!.responseTime) == 100)
        #expect(storable([.cacheControl: "max-age=100", .age: "40"])?.initialAge == 40)
    }

    @Test("HTTP-date: IMF-fixdate and the two obsolete forms; any other spelling is not a date (RFC 9110 §5.6.7)")
    func httpDates() {
        let sunday = 784_111_777.0  // 1994-11-06 08:49:37 UTC
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == sunday)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == sunday)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == sunday)
        #expect(HTTPDate.format(sunday) == "Sun, 06 Nov 1994 08:49:37 GMT")
        for invalid in [
            "0", "-1", "", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 +0000", "Sun, 6 Nov 1994 08:49:37 GMT",
            "06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", "sun, 06 nov 1994 08:49:37 gmt", "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z",
            "Sun, 06 Nov 1994 08:49:37 GMT extra", "Sund, 06 Nov 1994 08:49:37 GMT",
        ] {
            #expect(HTTPDate.parse(invalid) == nil, "\(invalid)")
        }
        // Formatting and parsing agree for any second, leap days and far years included.
        for seconds in [0.0, 951_782_400, 4_107_542_399, 1_700_000_000, -86_400] {
            #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
        }
        // Expires in any other spelling means already expired; two lines are a list, not a date.
        #expect(storable([.expires: "0"])?.freshness == 0)
        #expect(storable([.expires: "Thu, 01 Dec 2099 16:00:00 UTC"])?.freshness == 0)
        var twice = HTTPFields()
        twice.append(HTTPField(name: .expires, value: HTTPDate.format(Date().timeIntervalSince1970 + 600)))
        twice.append(HTTPField(name: .expires, value: HTTPDate.format(Date().timeIntervalSince1970 + 900)))
        #expect(storable(twice)?.freshness == 0)
    }

    @Test("CDN-Cache-Control is an RFC 8941 Dictionary: invalid, it is ignored as a whole (RFC 9213 §2.1)")
    func targetedField() {
        #expect(CacheControl(targeted: ["max-age=60"])?.maxAge == 60)
        #expect(CacheControl(targeted: ["max-age=60, no-store"])?.noStore == true)
        #expect(CacheControl(targeted: ["max-age=60", "stale-if-error=10"])?.staleIfError == 10)
        #expect(CacheControl(targeted: ["max-age=\"60\""])?.maxAge == nil, "a String is not an Integer: not consumed")
        #expect(CacheControl(targeted: ["max-age=1.5"])?.maxAge == nil, "a Decimal is not an Integer")
        #expect(CacheControl(targeted: ["Max-Age=60"]) == nil, "keys are lower case: the field does not parse")
        #expect(CacheControl(targeted: ["max-age=60,"]) == nil)
        #expect(CacheControl(targeted: ["max-age=60;;"]) == nil)
        #expect(CacheControl(targeted: [""]) == nil)
        #expect(CacheControl(targeted: ["none"])?.maxAge == nil, "valid, with no directive this cache knows")
        // Ignored as a whole: Cache-Control applies instead.
        #expect(storable([.cacheControl: "max-age=30", .cdnCacheControl: "Max-Age=600"])?.freshness == 30)
        #expect(storable([.cacheControl: "max-age=30", .cdnCacheControl: "max-age=600, private=?"])?.freshness == 30)
        #expect(storable([.cacheControl: "max-age=30", .cdnCacheControl: "max-age=600"])?.freshness == 600)
        #expect(storable([.cacheControl: "max-age=30", .cdnCacheControl: "no-store"]) == nil)
    }

    @Test("an encoded body is keyed on Accept-Encoding even when the origin forgets Vary")
    func implicitVary() {
        #expect(storable([.cacheControl: "max-age=60", .contentEncoding: "gzip"])?.vary == ["accept-encoding"])
        #expect(
            storable([.cacheControl: "max-age=60", .contentEncoding: "br", .vary: "Accept-Encoding, Origin"])?.vary == [
                "accept-encoding", "origin",
            ])
        #expect(storable([.cacheControl: "max-age=60"])?.vary == [])
        #expect(storable([.cacheControl: "max-age=60", .contentEncoding: "identity"])?.vary == [])
    }

    @Test("a response that sets a cookie is never stored, nor is one the store is handed with one")
    func cookies() {
        #expect(storable([.cacheControl: "public, max-age=60", .setCookie: "session=1"]) == nil)
        #expect(storable([.cacheControl: "public, max-age=60", HTTPField.Name("Set-Cookie2")!: "session=1"]) == nil)
        let store = CacheStore(directory: nil, limits: .init(), logger: .init(label: "test"))
        var response = storable([.cacheControl: "max-age=60"])!
        response.key = "example.com/page"
        response.headers = [["Cache-Control", "max-age=60"], ["Set-Cookie", "session=1"]]
        let writer = store.writer()
        writer.append(.init(string: "body"))
        store.store(response, from: writer)
        #expect(store.usage.objects == 0)
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
