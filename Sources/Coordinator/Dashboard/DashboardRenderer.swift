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
    /// The product areas' sidebar entries, in order.
    let navigation: [NavigationItem]
    /// The product areas' `?notice=` texts.
    let notices: [String: String]

    init(isDev: Bool, oidcLabel: String?, navigation: [NavigationItem], notices: [String: String]) throws {
        self.isDev = isDev
        self.oidcLabel = oidcLabel
        self.navigation = navigation.sorted { $0.order < $1.order }
        self.notices = notices
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
        // A form's own error (`<form>Error`, shown by that form) is also the page's error summary.
        if context["error"] == nil, let message = values.first(where: { $0.key.hasSuffix("Error") && $0.value is String })?.value {
            context["error"] = message
        }
        if let message = context["error"] as? String, let field = FormError.field ?? FormError.field(namedIn: message) {
            context["errorField"] = field
        }
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

    /// What the dashboard shows while the database does not answer: a maintenance page that
    /// reloads itself, 503 with Retry-After (the caller adds the header).
    func maintenancePage(retryAfter: Int) -> Response {
        page(
            "maintenance", title: "Down for maintenance", identity: nil, status: .serviceUnavailable,
            ["retryAfter": retryAfter])
    }

    func errorPage(status: HTTPResponse.Status, message: String, signedIn: Bool) -> Response {
        page(
            "error", title: "\(status.code) \(status.reasonPhrase)", identity: nil, status: status,
            ["status": status.code, "message": message])
    }

    /// The sidebar: the product areas' entries this user may see, under their section headings.
    func navigation(for identity: Identity?, active: String) -> [[String: Any]] {
        guard let identity else { return [] }
        let items = navigation.filter { item in
            switch item.audience {
            case .everyone: true
            case .resellers: identity.user.role == .reseller
            case .admins: identity.user.role == .admin
            case .development: isDev
            }
        }
        var lastSection = ""
        return items.map { item in
            defer { lastSection = item.section }
            var entry: [String: Any] = ["label": item.label, "href": item.href, "active": item.key == active]
            if item.section != lastSection { entry["section"] = item.section }
            return entry
        }
    }

    /// The fixed message `?notice=` selects, as the `notice` value pages show.
    func notice(_ request: Request) -> [String: Any] {
        guard let key = request.uri.queryParameters["notice"].map(String.init), let text = notices[key] else { return [:] }
        return ["notice": text]
    }

    /// A page with a form: the notice `?notice=` selects, the form's error if any, then the page's values.
    func formPage(
        _ template: String, title: String, _ identity: Identity, active: String? = nil, request: Request, error: String?,
        status: HTTPResponse.Status, _ values: [String: Any]
    ) -> Response {
        var context = notice(request)
        context.merge(values) { $1 }
        if let error { context["error"] = error }
        return page(template, title: title, identity: identity, active: active ?? template, status: status, context)
    }

    /// Runs a form's action; an API error re-renders the page (`fallback`) with the message and its status.
    func attempt(
        _ request: Request, fallback: (String, HTTPResponse.Status) async throws -> Response, _ action: () async throws -> Response
    ) async throws -> Response {
        do {
            return try await action()
        } catch let error as APIError {
            return try await FormError.$field.withValue(error.field) { try await fallback(error.detail, error.status) }
        }
    }

    /// Times as the dashboard shows them: `2026-12-01 06:00:00 UTC`.
    static func format(_ date: Date?) -> String {
        guard let date else { return "" }
        return date.formatted(
            .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon)) + " UTC"
    }

    /// Plan usage as the overview and account pages list it.
    static func usageRows(_ usage: [PlanLimits.Usage]) -> [[String: Any]] {
        usage.map { row in
            let percent: Int = {
                guard let used = row.used, let maximum = row.maximum, maximum > 0 else { return 0 }
                return Int(min(100, used * 100 / maximum))
            }()
            return [
                "title": row.title, "used": row.used.map(String.init) ?? "—",
                "maximum": row.maximum.map(String.init) ?? "Unlimited", "percent": percent,
                "metered": row.used != nil && row.maximum != nil,
            ]
        }
    }

    func asset(_ name: String) -> Response? {
        guard let asset = assets[name] else { return nil }
        return Response(
            status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: asset.body))
    }
}

/// The request field a failed form's error names, while the page is rendered again: the error
/// summary names it, and the page marks that field invalid (`aria-invalid`, `aria-describedby`).
enum FormError {
    @TaskLocal static var field: String?

    /// The field a validation message names: `APIError.validation` writes "<field>: <detail>".
    static func field(namedIn message: String) -> String? {
        guard let colon = message.firstIndex(of: ":") else { return nil }
        let name = message[..<colon]
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else { return nil }
        return String(name)
    }
}
