import Foundation
import Testing

@testable import ImageKit

@Suite("Image options")
struct ImageOptionsTests {
    @Test("the query form takes every parameter of the guide's table, with its defaults")
    func queryForm() throws {
        let options = try ImageOptions.parse(query: [
            ("url", "https://example.com/a.jpg"), ("w", "800"), ("h", "600"), ("f", "webp"), ("q", "75"), ("fit", "contain"),
        ])
        #expect(
            options
                == ImageOptions(
                    source: URL(string: "https://example.com/a.jpg")!, width: 800, height: 600, format: .webp, quality: 75, fit: .contain))
        let defaults = try ImageOptions.parse(query: [("url", "http://example.com/b.png")])
        #expect(
            defaults.width == nil && defaults.height == nil && defaults.format == .auto && defaults.quality == 80 && defaults.fit == .cover)
    }

    @Test(
        "bad input is refused with 400 naming the parameter",
        arguments: [
            ([("w", "800")], "url"), ([("url", "")], "url"), ([("url", "ftp://example.com/a.jpg")], "url"),
            ([("url", "file:///etc/passwd")], "url"), ([("url", "javascript:alert(1)")], "url"),
            ([("url", "gopher://127.0.0.1:70/")], "url"),
            ([("url", "http://user:secret@example.com/a.jpg")], "url"), ([("url", "http:///a.jpg")], "url"),
            ([("url", "https://example.com/" + String(repeating: "a", count: 2100))], "url"),
            ([("url", "https://example.com/a.jpg"), ("w", "0")], "w"), ([("url", "https://example.com/a.jpg"), ("w", "4097")], "w"),
            ([("url", "https://example.com/a.jpg"), ("w", "12.5")], "w"), ([("url", "https://example.com/a.jpg"), ("h", "-3")], "h"),
            ([("url", "https://example.com/a.jpg"), ("q", "0")], "q"), ([("url", "https://example.com/a.jpg"), ("q", "101")], "q"),
            ([("url", "https://example.com/a.jpg"), ("f", "gif")], "f"),
            ([("url", "https://example.com/a.jpg"), ("fit", "stretch")], "fit"),
        ])
    func invalid(query: [(String, String)], field: String) {
        #expect {
            try ImageOptions.parse(query: query)
        } throws: { error in
            guard let error = error as? ImageError else { return false }
            return error.status == 400 && error.field == field && error.detail.hasPrefix(field + ":")
        }
    }

    @Test("Cloudflare's path form: option names and aliases, absolute and same-site sources")
    func pathForm() throws {
        let absolute = try ImageOptions.parse(
            path: "width=800,f=auto,fit=scale-down/https://example.com/a.jpg?v=2", origin: "http://site.example")
        #expect(absolute.width == 800 && absolute.format == .auto && absolute.fit == .inside)
        #expect(absolute.source.absoluteString == "https://example.com/a.jpg?v=2")
        let relative = try ImageOptions.parse(path: "h=200,quality=50/images/b.png", origin: "http://site.example")
        #expect(relative.height == 200 && relative.quality == 50 && relative.source.absoluteString == "http://site.example/images/b.png")
        let folded = try ImageOptions.parse(path: "w=10/https:/example.com/c.jpg", origin: "http://site.example")
        #expect(folded.source.absoluteString == "https://example.com/c.jpg")
        #expect(throws: ImageError.self) {
            try ImageOptions.parse(path: "w=10,bogus/https://example.com/c.jpg", origin: "http://site.example")
        }
        #expect(throws: ImageError.self) { try ImageOptions.parse(path: "w=5000/https://example.com/c.jpg", origin: "http://site.example") }
    }

    @Test("f=auto follows Accept: AVIF, else WebP, else JPEG, or PNG for transparent sources")
    func negotiation() throws {
        let auto = try ImageOptions.parse(query: [("url", "https://example.com/a.png")])
        #expect(auto.outputFormat(accept: "image/avif,image/webp,image/apng,*/*;q=0.8", sourceHasAlpha: false) == .avif)
        #expect(auto.outputFormat(accept: "image/webp,*/*", sourceHasAlpha: true) == .webp)
        #expect(auto.outputFormat(accept: "image/avif;q=0, image/webp", sourceHasAlpha: false) == .webp)
        #expect(auto.outputFormat(accept: "*/*", sourceHasAlpha: false) == .jpeg)
        #expect(auto.outputFormat(accept: nil, sourceHasAlpha: true) == .png)
        let fixed = try ImageOptions.parse(query: [("url", "https://example.com/a.png"), ("f", "jpeg")])
        #expect(fixed.outputFormat(accept: "image/avif", sourceHasAlpha: true) == .jpeg)
    }
}
