import Foundation
import OpenAPIKit

/// The image endpoint (product guide §4); every edge node serves it on proxied domains too.
extension OpenAPIDocument {
    static var imagesOperations: [Operation] {
        var operations: [Operation] = []
        let imageQuery: [(name: String, schema: JSONSchema, description: String)] = [
            ("url", .string(format: .uri), "Source image URL, http or https (required in the query form)"),
            ("w", .integer(maximum: (4096, exclusive: false), minimum: (1, exclusive: false)), "Width in pixels (default: the source's)"),
            ("h", .integer(maximum: (4096, exclusive: false), minimum: (1, exclusive: false)), "Height in pixels (default: the source's)"),
            (
                "f", .string(allowedValues: ["auto", "webp", "avif", "jpeg", "png"], defaultValue: "auto"),
                "Output format; auto follows Accept"
            ),
            ("q", .integer(maximum: (100, exclusive: false), minimum: (1, exclusive: false), defaultValue: 80), "Quality"),
            ("fit", .string(allowedValues: ["cover", "contain", "fill", "inside"], defaultValue: "cover"), "How the image meets w×h"),
        ]
        let imageResponses: [(Int, String?)] = [
            (200, "image/*"), (304, nil), (400, "Error"), (413, "Error"), (415, "Error"), (422, "Error"), (502, "Error"), (503, "Error"),
            (504, "Error"),
        ]
        for method in ["get", "head"] {
            operations += [
                Operation(
                    method: method, path: "/cdn-cgi/image", summary: "Resize, convert and optimise an image (public; cached 7 days)",
                    tag: "Images", access: .publicRoute, responses: imageResponses, query: imageQuery),
                Operation(
                    method: method, path: "/cdn-cgi/image/{path}",
                    summary: "Cloudflare's path form: /cdn-cgi/image/w=800,f=auto/<source URL or path> (public)", tag: "Images",
                    access: .publicRoute, responses: imageResponses),
            ]
        }
        return operations
    }
}

extension ImagesArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.imagesOperations }
}
