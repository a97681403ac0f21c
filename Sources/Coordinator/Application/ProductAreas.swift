/// The coordinator's product areas, in order: migrations run, the node feed is filled in and the
/// OpenAPI document lists operations in this order. A new area is a folder plus one line here
/// (docs/architecture.md, "Adding a product area").
enum ProductAreas {
    static let all: [any ProductArea.Type] = [
        OperabilityArea.self,
        AccountsArea.self,
        PlansArea.self,
        AdminArea.self,
        NodesArea.self,
        DomainsArea.self,
        CDNArea.self,
        TLSArea.self,
        SecurityArea.self,
        ImagesArea.self,
        CreditsArea.self,
        PromoArea.self,
        ResellersArea.self,
        AffiliatesArea.self,
        BillingArea.self,
        MailArea.self,
    ]
}
