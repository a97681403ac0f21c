import DCDNCore
import FluentKit
import Foundation
import Hummingbird
import Logging
import OpenAPIKit
import ServiceLifecycle
import Synchronization

/// One product area of the coordinator (Domains, CDN, Credits, …): everything it adds to the
/// platform, supplied through this one type so that a new area is a folder plus one line in
/// `ProductAreas.all`. See docs/architecture.md, "Adding a product area".
///
/// What does not change with a running coordinator is static (migrations, sidebar entries,
/// notices, the OpenAPI operations and plan-limit counters); what needs services is built from
/// the coordinator by `init(_:)` and handed on to the area's controllers, which receive the few
/// services they use and never the whole `Coordinator`. Every requirement but `init` has a
/// default that adds nothing.
protocol ProductArea: Sendable {
    /// The area's tables, in order. A released migration is never edited: add a new one.
    static var migrations: [any AsyncMigration] { get }
    /// Entries of the dashboard's sidebar.
    static var navigation: [NavigationItem] { get }
    /// Messages a page of the area shows for `?notice=<key>` after a form succeeded. Fixed
    /// texts, so that no page reflects text from the URL.
    static var notices: [String: String] { get }
    /// The area's API operations for the OpenAPI document (a test keeps them equal to the router).
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation]
    /// Schemas the operations refer to by name.
    static var schemas: [String: JSONSchema] { get }
    /// How a user's usage of a plan limit is counted (shown on the account page, checked by
    /// `PlanLimits.check`).
    static var limitCounters: [PlanLimit: PlanLimits.UsageCounter] { get }

    init(_ coordinator: Coordinator)
    /// Adds the area's routes: API, dashboard pages, and public routes at the root.
    func addRoutes(to routes: AreaRoutes)
    /// Background jobs, usually `PeriodicJob`s whose items `claims` gives to one replica each.
    func jobs(claims: JobClaims, logger: Logger) -> [any Service]
    /// Fills the area's part of the node feed: its fields of the edge's and the nameserver's
    /// per-domain configuration, and its role-wide settings.
    func contribute(to feed: inout NodeFeedBuilder) async throws
}

extension ProductArea {
    /// The area for this coordinator, as an existential (what `ProductAreas.all` builds).
    static func make(_ coordinator: Coordinator) -> any ProductArea { Self(coordinator) }

    public static var migrations: [any AsyncMigration] { [] }
    public static var navigation: [NavigationItem] { [] }
    public static var notices: [String: String] { [:] }
    public static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { [] }
    public static var schemas: [String: JSONSchema] { [:] }
    public static var limitCounters: [PlanLimit: PlanLimits.UsageCounter] { [:] }
    public func addRoutes(to routes: AreaRoutes) {}
    public func jobs(claims: JobClaims, logger: Logger) -> [any Service] { [] }
    public func contribute(to feed: inout NodeFeedBuilder) async throws {}
}

/// Where an area adds routes.
struct AreaRoutes {
    /// `/api/v1`.
    public let api: RouterGroup<AppRequestContext>
    /// `/dashboard`.
    public let dashboard: RouterGroup<AppRequestContext>
    /// The root, for public endpoints outside the API (`/cdn-cgi/image`, `/healthz`).
    public let root: Router<AppRequestContext>
}

/// A sidebar entry of the dashboard.
struct NavigationItem: Sendable {
    /// Who sees the entry.
    public enum Audience: Sendable { case everyone, resellers, admins, development }

    /// Matches the `active:` a page renders with.
    public var key: String
    public var label: String
    public var href: String
    /// The heading it is listed under ("Product", "Billing", "Admin", "Development").
    public var section: String
    public var audience: Audience
    /// Sidebar order: lower first. Sections keep the order of their first entry.
    public var order: Int

    public init(key: String, label: String, href: String, section: String, audience: Audience = .everyone, order: Int) {
        self.key = key
        self.label = label
        self.href = href
        self.section = section
        self.audience = audience
        self.order = order
    }
}

/// The coordinator's product areas, built once the coordinator's services exist.
final class ProductAreaList: Sendable {
    private let storage = Mutex<[any ProductArea]>([])

    public var all: [any ProductArea] { storage.withLock { $0 } }

    func install(_ areas: [any ProductArea]) { storage.withLock { $0 = areas } }

    /// The area of type `Area`, for tests and for areas built on another one.
    public func first<Area: ProductArea>(_ type: Area.Type) -> Area? { all.lazy.compactMap { $0 as? Area }.first }
}
