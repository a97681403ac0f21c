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
}
