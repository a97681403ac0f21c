/// A limit a plan puts on a customer. The raw value is the key used in the database, the API and
/// the dashboard; later capabilities add their limits here and seed them in a migration.
public enum PlanLimit: String, CaseIterable, Codable, Sendable {
    case domains
    case bandwidthGB = "bandwidth_gb"
    case vpsInstances = "vps_instances"
    case edgeFunctions = "edge_functions"
    case monitors
    case emailRoutes = "email_routes"
    case agents
    case agentRunsPerDay = "agent_runs_per_day"
    case includedTokens = "included_tokens"
    /// Counted within each domain; the usage shown is the busiest domain's.
    case pageRulesPerDomain = "page_rules_per_domain"
    case rateLimitsPerDomain = "rate_limits_per_domain"
    case firewallRulesPerDomain = "firewall_rules_per_domain"

    /// How the dashboard names the limit.
    public var title: String {
        switch self {
        case .domains: "Domains"
        case .bandwidthGB: "Bandwidth (GB / month)"
        case .vpsInstances: "VPS instances"
        case .edgeFunctions: "Edge functions"
        case .monitors: "Uptime monitors"
        case .emailRoutes: "Email routes"
        case .agents: "AI agents"
        case .agentRunsPerDay: "Agent runs per day"
        case .includedTokens: "Included AI tokens / month"
        case .pageRulesPerDomain: "Page rules per domain"
        case .rateLimitsPerDomain: "Rate limits per domain"
        case .firewallRulesPerDomain: "Firewall rules per domain"
        }
    }
}

/// One plan as the product guide's pricing tables define it. `nil` limits are unlimited; a `nil`
/// price is "Custom" (Enterprise, arranged with the operator).
public struct PlanDefinition: Sendable, Equatable {
    public var id: String
    public var name: String
    public var monthlyPrice: Credits?
    public var byokRequired: Bool
    public var limits: [PlanLimit: Int64]

    public init(
        id: String, name: String, monthlyPrice: Credits?, byokRequired: Bool, limits: [PlanLimit: Int64]
    ) {
        self.id = id
        self.name = name
        self.monthlyPrice = monthlyPrice
        self.byokRequired = byokRequired
        self.limits = limits.merging(PlanCatalog.perDomainLimits) { own, _ in own }
    }
}

/// The plans a new installation starts with: technical guide §16 Pricing and the AI agent
/// platform's plan limits. Operators edit them afterwards (dashboard or `PATCH /admin/plans/{id}`).
public enum PlanCatalog {
    public static let defaultPlanID = "free"

    /// Every plan's per-domain caps (the figures DCDN enforced before they were plan data).
    public static let perDomainLimits: [PlanLimit: Int64] = [
        .pageRulesPerDomain: 50, .rateLimitsPerDomain: 25, .firewallRulesPerDomain: 50,
    ]

    public static let defaults: [PlanDefinition] = [
        PlanDefinition(
            id: "free", name: "Free", monthlyPrice: .zero, byokRequired: true,
            limits: [
                .domains: 3, .bandwidthGB: 50, .vpsInstances: 0, .edgeFunctions: 3, .monitors: 2,
                .emailRoutes: 5, .agents: 1, .agentRunsPerDay: 100, .includedTokens: 0,
            ]),
        PlanDefinition(
            id: "standard", name: "Standard", monthlyPrice: Credits(5), byokRequired: true,
            limits: [
                .domains: 10, .bandwidthGB: 200, .vpsInstances: 5, .edgeFunctions: 10, .monitors: 5,
                .emailRoutes: 25, .agents: 5, .agentRunsPerDay: 1_000, .includedTokens: 0,
            ]),
        PlanDefinition(
            id: "pro", name: "Pro", monthlyPrice: Credits(15), byokRequired: false,
            limits: [
                .bandwidthGB: 1_000, .vpsInstances: 10, .edgeFunctions: 25, .monitors: 15,
                .emailRoutes: 100, .agents: 25, .agentRunsPerDay: 10_000, .includedTokens: 1_000_000,
            ]),
        PlanDefinition(
            id: "business", name: "Business", monthlyPrice: Credits(59), byokRequired: false,
            limits: [
                .bandwidthGB: 5_000, .vpsInstances: 50, .edgeFunctions: 100, .monitors: 50,
                .emailRoutes: 500, .agentRunsPerDay: 100_000, .includedTokens: 5_000_000,
            ]),
        // The guide gives Enterprise's edge functions and monitors; everything else is unlimited.
        PlanDefinition(
            id: "enterprise", name: "Enterprise", monthlyPrice: nil, byokRequired: false,
            limits: [.edgeFunctions: 500, .monitors: 200]),
    ]
}
