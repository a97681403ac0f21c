import Foundation

/// The content codings a shared cache keeps variants for (RFC 9110 §8.4.1): Brotli and gzip. A
/// request's Accept-Encoding is reduced to the one it would be served, so that variants do not
/// multiply with every browser's spelling of the header.
package enum ContentCoding: String, Sendable {
    case br
    case gzip

    /// The client's preferred coding of these, Brotli first; nil for identity. Honours `q=0` and
    /// `*` (RFC 9110 §12.5.3).
    package static func negotiate(acceptEncoding: String?) -> ContentCoding? {
        guard let acceptEncoding else { return nil }
        var accepted: [String: Double] = [:]
        for item in acceptEncoding.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = parts.first, !name.isEmpty else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") { quality = Double(parameter.dropFirst(2)) ?? 0 }
            accepted[name] = quality
        }
        let wildcard = accepted["*"]
        func quality(_ name: String) -> Double { accepted[name] ?? wildcard ?? 0 }
        if quality("br") > 0 { return .br }
        if quality("gzip") > 0 { return .gzip }
        return nil
    }
}
