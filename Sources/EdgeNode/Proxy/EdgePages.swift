import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird

/// The edge's own pages (unknown site, origin errors) and the product guide's §14 headers,
/// which every response carries without overriding an origin's own Content-Security-Policy.
enum EdgePages {
    static func page(_ status: HTTPResponse.Status, title: String, message: String, domain: String? = nil) -> Response {
        let (headers, body) = content(status, title: title, message: message, domain: domain)
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// The page's fields and HTML, for callers outside a responder.
    static func content(_ status: HTTPResponse.Status, title: String, message: String, domain: String? = nil) -> (HTTPFields, ByteBuffer) {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(status.code) \(escape(title))</title>
            <style>body{font:16px system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1b1f24}main{max-width:560px;margin:12vh auto;padding:24px;background:#fff;border:1px solid #d0d7de;border-radius:8px}h1{font-size:22px}small{color:#57606a}</style>
            </head><body><main><h1>\(escape(title))</h1><p>\(escape(message))</p>
            <p><small>Error \(status.code)\(domain.map { " · \(escape($0))" } ?? "") · served by DCDN</small></p></main></body></html>
            """
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers[.cacheStatus] = "DCDN; detail=edge-\(status.code)"
        addSecurityHeaders(&headers)
        headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'"
        return (headers, ByteBuffer(string: html))
    }

    static let securityHeaders = SecurityHeaders.all.map { (HTTPField.Name($0.0)!, $0.1) }

    static func addSecurityHeaders(_ headers: inout HTTPFields) {
        for (field, value) in securityHeaders where headers[field] == nil { headers[field] = value }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;"
        )
        .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
