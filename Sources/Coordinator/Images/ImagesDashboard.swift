import DCDNCore
import Foundation
import Hummingbird
import ImageKit

/// Dashboard → Image CDN: a URL builder with a live preview of the coordinator's own endpoint.
struct ImagesDashboard {
    let renderer: DashboardRenderer
    let publicURL: String
    let settings: DCDNSettings

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("images") { request, context in
            let identity = try context.requirePage()
            return page(identity, request: request)
        }
    }

    private func page(_ identity: Identity, request: Request) -> Response {
        let query = request.uri.queryParameters
        let value = { (name: String) in query[name[...]].map(String.init) ?? "" }
        let submitted = !value("url").isEmpty
        // A fresh install shows its demo photo; elsewhere the field starts empty.
        let url = submitted ? value("url") : (settings.isDev ? "http://demo.dcdn.test/sample.jpg" : "")
        let format = value("f").isEmpty ? "auto" : value("f")
        let fit = value("fit").isEmpty ? "cover" : value("fit")
        var values: [String: Any] = [
            "url": url, "w": submitted ? value("w") : "400", "h": value("h"), "q": value("q").isEmpty ? "80" : value("q"),
            "endpoint": publicURL + ImagePipeline.pathPrefix + "/",
            "formats": ImageOptions.Format.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == format] },
            "fits": ImageOptions.Fit.allCases.map { ["value": $0.rawValue, "label": $0.rawValue, "selected": $0.rawValue == fit] },
        ]
        var status = HTTPResponse.Status.ok
        if !url.isEmpty {
            let items =
                submitted
                ? ["url", "w", "h", "f", "q", "fit"].compactMap { name in value(name).isEmpty ? nil : (name, value(name)) }
                : [("url", url), ("w", "400")]
            do {
                let options = try ImageOptions.parse(query: items)
                values["link"] = Self.link(publicURL, items)
                values["pathLink"] = Self.pathLink(publicURL, options)
            } catch {
                values["formError"] = error.detail
                status = .badRequest
            }
        }
        return renderer.page("images", title: "Image CDN", identity: identity, active: "images", status: status, values)
    }

    /// The query form of the endpoint, with only the parameters given.
    static func link(_ base: String, _ items: [(String, String)]) -> String {
        var components = URLComponents()
        components.queryItems = items.map { URLQueryItem(name: $0.0, value: $0.1) }
        // URLComponents leaves "&", "=" and "+" inside values alone; a source URL may hold them.
        let query = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return base + ImagePipeline.pathPrefix + "/?" + query
    }

    /// Cloudflare's path form of the same request.
    static func pathLink(_ base: String, _ options: ImageOptions) -> String {
        var parts: [String] = []
        if let width = options.width { parts.append("w=\(width)") }
        if let height = options.height { parts.append("h=\(height)") }
        parts += ["f=\(options.format.rawValue)", "q=\(options.quality)", "fit=\(options.fit.rawValue)"]
        return base + ImagePipeline.pathPrefix + "/" + parts.joined(separator: ",") + "/" + options.source.absoluteString
    }
}
