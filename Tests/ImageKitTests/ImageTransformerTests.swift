import Foundation
import NIOCore
import Testing

@testable import ImageKit

@Suite("Image transformer (libvips)")
struct ImageTransformerTests {
    /// 64×32 PNG: the left half opaque blue, the right half half-transparent red.
    static let png = ByteBuffer(
        bytes: Data(
            base64Encoded:
                "iVBORw0KGgoAAAANSUhEUgAAAEAAAAAgCAYAAACinX6EAAAAYElEQVR4nO3QQREAMQyAwLTOT3kqY+8BBmA4M7sD2Tmf9F8p/wMN0AGaBugATQN0gKYBOkDTAB2gaYAO0DRAB2gaoAM0DdABmgboAE0DdICmATpA0wAdoGmADtA0QAdoHrA+A78ksxx9AAAAAElFTkSuQmCC"
        )!)
    let transformer = ImageTransformer()

    func transform(_ query: [(String, String)], accept: String? = nil) async throws -> ImageTransformer.Output {
        try await transformer.transform(
            Self.png, options: try ImageOptions.parse(query: [("url", "https://example.com/a.png")] + query), accept: accept)
    }

    @Test("the header is read without decoding")
    func probe() throws {
        let probe = try transformer.probe(Self.png)
        #expect(probe.width == 64 && probe.height == 32 && probe.hasAlpha && probe.loader.lowercased().contains("png"))
    }

    @Test(
        "each fit gives its documented geometry",
        arguments: [
            ([("w", "16")], 16, 8), ([("h", "8")], 16, 8), ([("w", "16"), ("h", "16"), ("fit", "cover")], 16, 16),
            ([("w", "16"), ("h", "16"), ("fit", "contain")], 16, 8), ([("w", "16"), ("h", "16"), ("fit", "fill")], 16, 16),
            ([("w", "128"), ("h", "128"), ("fit", "inside")], 64, 32), ([("w", "128"), ("h", "128"), ("fit", "contain")], 128, 64),
            ([], 64, 32),
        ])
    func geometry(query: [(String, String)], width: Int, height: Int) async throws {
        let output = try await transform(query + [("f", "png")])
        #expect(output.width == width && output.height == height)
        let probe = try transformer.probe(output.body)
        #expect(probe.width == width && probe.height == height)
    }

    @Test("every output format decodes as itself", arguments: ImageOptions.Format.allCases.filter { $0 != .auto })
    func formats(format: ImageOptions.Format) async throws {
        let output = try await transform([("w", "32"), ("f", format.rawValue), ("q", "60")])
        #expect(output.format == format && output.contentType == "image/\(format.rawValue)")
        let loader = try transformer.probe(output.body).loader.lowercased()
        #expect(loader.contains(format == .avif ? "heif" : format.rawValue))
    }

    @Test("transparency survives in PNG for clients without AVIF or WebP; JPEG is flattened")
    func transparency() async throws {
        let auto = try await transform([("w", "32")], accept: "image/png,*/*")
        let probe = try transformer.probe(auto.body)
        #expect(auto.format == .png && probe.hasAlpha)
        let jpeg = try await transform([("w", "32"), ("f", "jpeg")])
        let flattened = try transformer.probe(jpeg.body)
        #expect(!flattened.hasAlpha)
    }

    @Test("what is not an allowed image is 415; a broken one 422; too many pixels 422 before decoding")
    func refusals() async throws {
        let options = try ImageOptions.parse(query: [("url", "https://example.com/a")])
        await #expect(throws: ImageTransformer.unsupported) {
            try await transformer.transform(ByteBuffer(string: "<svg xmlns='http://www.w3.org/2000/svg'/>"), options: options, accept: nil)
        }
        await #expect(throws: ImageTransformer.unsupported) { try await transformer.transform(ByteBuffer(), options: options, accept: nil) }
        // A PNG signature with a damaged header chunk.
        var broken = ByteBuffer(bytes: Self.png.getBytes(at: 0, length: 16)!)
        broken.writeBytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 8, 6, 0, 0, 0, 0, 0, 0, 0])
        do {
            _ = try await transformer.transform(broken, options: options, accept: nil)
            Issue.record("a PNG with a damaged header was transformed")
        } catch {
            #expect(error.status == 422 || error.status == 415, "\(error)")
        }
        var limits = ImageTransformer.Limits()
        limits.maxPixels = 1000
        do {
            _ = try await ImageTransformer(limits: limits).transform(Self.png, options: options, accept: nil)
            Issue.record("a source over the pixel cap was transformed")
        } catch {
            #expect(error.status == 422 && error.code == .imageTooLarge)
        }
    }
}
