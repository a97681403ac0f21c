import Crypto
import Foundation
import NIOCore

/// The `/cdn-cgi/image` endpoint, the same on every edge node and on the coordinator: options
/// parsed, the source fetched (or reused), the image transformed, and the answer with the guide's
/// caching headers — or a JSON error with its status.
public final class ImagePipeline: Sendable {
    public static let pathPrefix = "/cdn-cgi/image"
    /// "Optimized images are cached for 7 days" (product guide §4).
    public static let cacheControl = "public, max-age=604800"

    public struct Answer: Sendable {
        public let status: Int
        public let headers: [(String, String)]
        public let body: ByteBuffer
    }

    public let fetcher: SourceFetcher
    public let transformer: ImageTransformer
    let sources: SourceCache

    public init(fetcher: SourceFetcher, transformer: ImageTransformer = ImageTransformer(), sourceCacheBytes: Int = 128 << 20) {
        self.fetcher = fetcher
        self.transformer = transformer
        sources = SourceCache(capacity: sourceCacheBytes)
    }

    /// Whether a request path is the image endpoint.
    public static func handles(path: String) -> Bool {
        path == pathPrefix || path.hasPrefix(pathPrefix + "/") || path.hasPrefix(pathPrefix + "?")
    }

    /// Answers a request for `target` (path and query). `origin` ("https://example.com") is where
    /// the path form's relative sources live.
    public func answer(target: String, origin: String, accept: String?) async -> Answer {
        do {
            let options = try Self.options(target: target, origin: origin)
            let source = try await source(options.source)
            let output = try await transformer.transform(source.source.body, options: options, accept: accept)
            var headers = [
                ("Content-Type", output.contentType), ("Cache-Control", Self.cacheControl),
                ("ETag", Self.etag(source.digest, options, output.format)),
                ("Content-Length", String(output.body.readableBytes)),
            ]
            if options.format == .auto { headers.append(("Vary", "Accept")) }
            return Answer(status: 200, headers: headers, body: output.body)
        } catch {
            return Self.failure(error)
        }
    }

    public static func failure(_ error: ImageError) -> Answer {
        var body = ByteBuffer()
        body.writeBytes(error.body)
        return Answer(
            status: error.status,
            headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store"), ("Content-Length", String(body.readableBytes))],
            body: body)
    }

    static func options(target: String, origin: String) throws(ImageError) -> ImageOptions {
        let (path, query) =
            target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        let rest = path.dropFirst(pathPrefix.count).drop { $0 == "/" }
        if rest.isEmpty {
            let items = URLComponents(string: "?" + query)?.queryItems ?? []
            return try ImageOptions.parse(query: items.map { ($0.name, $0.value ?? "") })
        }
        // The path form's source keeps its own query string.
        let source = String(rest) + (query.isEmpty ? "" : "?" + query)
        return try ImageOptions.parse(path: source.removingPercentEncoding ?? source, origin: origin)
    }

    private func source(_ url: URL) async throws(ImageError) -> SourceCache.Entry {
        if let cached = sources.entry(for: url) { return cached }
        return sources.remember(try await fetcher.fetch(url), for: url)
    }

    /// Changes whenever the source bytes, the options or the chosen format do.
    static func etag(_ digest: String, _ options: ImageOptions, _ format: ImageOptions.Format) -> String {
        let recipe = [
            digest, options.width.map(String.init) ?? "", options.height.map(String.init) ?? "", format.rawValue, String(options.quality),
            options.fit.rawValue,
        ]
        let hash = SHA256.hash(data: Data(recipe.joined(separator: "|").utf8))
        return "\"" + hash.prefix(16).map { String(format: "%02x", $0) }.joined() + "\""
    }
}
