import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// Renders the server-side dashboard from the Mustache templates shipped with the module.
public struct DashboardRenderer: Sendable {
    let library: MustacheLibrary
    let isDev: Bool
    let oidcLabel: String?
    let assets: [String: (contentType: String, body: ByteBuffer)]

    public init(isDev: Bool, oidcLabel: String?) throws {
        self.isDev = isDev
        self.oidcLabel = oidcLabel
        var library = MustacheLibrary()
        let fileManager = FileManager.default
        guard let templates = Bundle.module.url(forResource: "Templates", withExtension: nil),
            let assetsURL = Bundle.module.url(forResource: "Assets", withExtension: nil)
        else { throw DashboardError(description: "dashboard templates are missing from the installation") }
        for name in try fileManager.contentsOfDirectory(atPath: templates.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
            library.register(try MustacheTemplate(string: text), named: String(name.dropLast(".mustache".count)))
        }
        self.library = library
        var assets: [String: (String, ByteBuffer)] = [:]
        for name in try fileManager.contentsOfDirectory(atPath: assetsURL.path) where !name.hasPrefix(".") {
            let data = try Data(contentsOf: assetsURL.appendingPathComponent(name))
            let type =
                name.hasSuffix(".css")
                ? "text/css; charset=utf-8" : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "image/svg+xml"
            assets[name] = (type, ByteBuffer(bytes: data))
        }
        self.assets = assets
    }

    struct DashboardError: Error, CustomStringConvertible { var description: String }

    /// A page of the signed-in dashboard (with the sidebar) or of the signed-out one.
    func page(
        _ template: String, title: String, identity: Identity?, active: String = "", status: HTTPResponse.Status = .ok,
        _ values: [String: Any] = [:]
    ) -> Response {
        var context = values
        context["title"] = title
        context["signedIn"] = identity != nil
        context["email"] = identity?.user.email ?? ""
        context["isAdmin"] = identity?.user.role == .admin
        context["isDev"] = isDev
        context["oidcLabel"] = oidcLabel ?? ""
        context["hasOIDC"] = oidcLabel != nil
        context["nav"] = navigation(for: identity, active: active)
        let body = library.render(context, withTemplate: template) ?? "template \(template) missing"
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func errorPage(status: HTTPResponse.Status, message: String, signedIn: Bool) -> Response {
        page(
            "error", title: "\(status.code) \(status.reasonPhrase)", identity: nil, status: status,
            ["status": status.code, "message": message])
    }

    /// The sidebar: the product areas that exist in this installation, then admin and dev tools.
    func navigation(for identity: Identity?, active: String) -> [[String: Any]] {
        guard let identity else { return [] }
        var items: [(key: String, label: String, href: String, section: String)] = [
            ("overview", "Overview", "/dashboard", "Product"),
            ("domains", "Domains", "/dashboard/domains", "Product"),
            ("images", "Image CDN", "/dashboard/images", "Product"),
            ("ddos", "DDoS Protection", "/dashboard/ddos", "Product"),
            ("account", "Account & API tokens", "/dashboard/account", "Product"),
            ("credits", "Credits", "/dashboard/credits", "Billing"),
            ("billing", "Billing & plan", "/dashboard/billing", "Billing"),
            ("affiliate", "Affiliate Program", "/dashboard/affiliate", "Billing"),
        ]
        if identity.user.role == .reseller { items.append(("reseller", "Reseller", "/dashboard/reseller", "Billing")) }
        if identity.user.role == .admin {
            items += [
                ("admin-users", "Users", "/dashboard/admin/users", "Admin"), ("admin-plans", "Plans", "/dashboard/admin/plans", "Admin"),
                ("admin-nodes", "Nodes", "/dashboard/admin/nodes", "Admin"),
                ("admin-credits", "Credits & promo codes", "/dashboard/admin/credits", "Admin"),
                ("admin-resellers", "Resellers & tiers", "/dashboard/admin/resellers", "Admin"),
            ]
        }
        if isDev { items.append(("outbox", "Dev outbox", "/dashboard/outbox", "Development")) }
        var lastSection = ""
        return items.map { item in
            defer { lastSection = item.section }
            var entry: [String: Any] = ["label": item.label, "href": item.href, "active": item.key == active]
            if item.section != lastSection { entry["section"] = item.section }
            return entry
        }
    }

    func asset(_ name: String) -> Response? {
        guard let asset = assets[name] else { return nil }
        return Response(
            status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: asset.body))
    }
}
