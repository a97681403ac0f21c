import Foundation

/// What a `/cdn-cgi/image` request asks for, validated: the product guide's query form
/// (`?url=…&w=&h=&f=&q=&fit=`) or Cloudflare's path form (`/cdn-cgi/image/w=800,f=auto/<source>`).
public struct ImageOptions: Sendable, Hashable {
    public enum Format: String, Sendable, CaseIterable {
        case auto, webp, avif, jpeg, png
    }

    /// How the image meets a box of `w`×`h` (with one side given, every mode scales to it).
    public enum Fit: String, Sendable, CaseIterable {
        /// Fills the box, cropping what overflows around the centre (may enlarge).
        case cover
        /// Fits inside the box whole, keeping the aspect ratio (may enlarge).
        case contain
        /// Stretched to exactly the box, ignoring the aspect ratio.
        case fill
        /// Like contain, but never enlarged.
        case inside
    }

    public static let dimensions = 1...4096
    public static let qualities = 1...100
    public static let maxURLLength = 2048

    /// The absolute http or https URL of the source image.
    public var source: URL
    public var width: Int?
    public var height: Int?
    public var format: Format = .auto
    public var quality = 80
    public var fit: Fit = .cover

    public init(source: URL, width: Int? = nil, height: Int? = nil, format: Format = .auto, quality: Int = 80, fit: Fit = .cover) {
        self.source = source
        self.width = width
        self.height = height
        self.format = format
        self.quality = quality
        self.fit = fit
    }

    /// The query form; unknown parameters are ignored, the last of a repeated one counts.
    public static func parse(query: [(String, String)]) throws(ImageError) -> ImageOptions {
        var values: [String: String] = [:]
        for (name, value) in query { values[name] = value }
        guard let url = values["url"], !url.isEmpty else { throw .parameter("url", "is required: the source image's http or https URL") }
        var options = ImageOptions(source: try source(url))
        try options.apply(values)
        return options
    }

    /// The path form after `/cdn-cgi/image/`: comma-separated options, a slash, then the source —
    /// an absolute URL, or a path on the site the request came to (`origin` is its scheme and host).
    public static func parse(path: String, origin: String) throws(ImageError) -> ImageOptions {
        guard let slash = path.firstIndex(of: "/") else {
            throw .parameter("url", "the path form is /cdn-cgi/image/<options>/<source>")
        }
        var values: [String: String] = [:]
        for option in path[..<slash].split(separator: ",") {
            let parts = option.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw .parameter(String(option), "options are written name=value") }
            let name = String(parts[0]).trimmingCharacters(in: .whitespaces)
            values[Self.pathAliases[name] ?? name] = String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        var rest = String(path[path.index(after: slash)...])
        // Some clients fold "//" into "/" ("https:/example.com/a.jpg").
        for scheme in ["http:", "https:"] where rest.lowercased().hasPrefix(scheme) && !rest.lowercased().hasPrefix(scheme + "//") {
            rest = scheme + "/" + rest.dropFirst(scheme.count)
        }
        let absolute = rest.lowercased().hasPrefix("http://") || rest.lowercased().hasPrefix("https://")
        guard !rest.isEmpty else { throw .parameter("url", "is required after the options") }
        var options = ImageOptions(source: try source(absolute ? rest : origin + "/" + rest))
        try options.apply(values)
        return options
    }

    /// Cloudflare's long option names and fit values, for customers moving over.
    static let pathAliases = ["width": "w", "height": "h", "format": "f", "quality": "q"]
    static let fitAliases = ["scale-down": Fit.inside, "crop": .cover]

    private mutating func apply(_ values: [String: String]) throws(ImageError) {
        width = try Self.integer(values["w"], "w", Self.dimensions)
        height = try Self.integer(values["h"], "h", Self.dimensions)
        quality = try Self.integer(values["q"], "q", Self.qualities) ?? 80
        if let value = values["f"] {
            guard let parsed = Format(rawValue: value.lowercased()) else {
                throw .parameter("f", "must be one of auto, webp, avif, jpeg, png")
            }
            format = parsed
        }
        if let value = values["fit"] {
            guard let parsed = Fit(rawValue: value.lowercased()) ?? Self.fitAliases[value.lowercased()] else {
                throw .parameter("fit", "must be one of cover, contain, fill, inside")
            }
            fit = parsed
        }
    }

    private static func integer(_ value: String?, _ name: String, _ range: ClosedRange<Int>) throws(ImageError) -> Int? {
        guard let value else { return nil }
        guard let number = Int(value), range.contains(number) else {
            throw .parameter(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    static func source(_ text: String) throws(ImageError) -> URL {
        guard text.utf8.count <= maxURLLength else { throw .parameter("url", "is longer than \(maxURLLength) characters") }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw .parameter("url", "is not a valid URL")
        }
        guard scheme == "http" || scheme == "https" else { throw .parameter("url", "only http and https sources are allowed") }
        guard let host = url.host(percentEncoded: false), !host.isEmpty else { throw .parameter("url", "has no host") }
        guard url.user == nil, url.password == nil else { throw .parameter("url", "must not carry credentials") }
        return url
    }

    /// The format to produce for a client's Accept header: `auto` picks AVIF, else WebP, else
    /// JPEG — or PNG for a source with transparency when the client takes neither.
    public func outputFormat(accept: String?, sourceHasAlpha: Bool) -> Format {
        guard format == .auto else { return format }
        let accepted = Self.acceptedImageTypes(accept)
        if accepted.contains("image/avif") { return .avif }
        if accepted.contains("image/webp") { return .webp }
        return sourceHasAlpha ? .png : .jpeg
    }

    /// Media types in an Accept header that are not refused with q=0.
    static func acceptedImageTypes(_ accept: String?) -> Set<String> {
        var types = Set<String>()
        for item in (accept ?? "").split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first, !type.isEmpty else { continue }
            let refused = parts.dropFirst().contains {
                $0.replacingOccurrences(of: " ", with: "").range(of: #"^q=0(\.0*)?$"#, options: .regularExpression) != nil
            }
            if !refused { types.insert(type) }
        }
        return types
    }
}
