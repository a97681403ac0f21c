import DCDNCore
import Foundation
import ImageKit

/// The image CDN (§4): the public `/cdn-cgi/image` endpoint and its URL builder page.
struct ImagesArea: ProductArea {
    static var navigation: [NavigationItem] {
        [NavigationItem(key: "images", label: "Image CDN", href: "/dashboard/images", section: "Product", order: 30)]
    }

    let images: ImagePipeline
    let publicURL: String
    let settings: DCDNSettings
    let renderer: DashboardRenderer

    init(_ coordinator: Coordinator) {
        images = coordinator.images
        publicURL = coordinator.publicURL
        settings = coordinator.settings
        renderer = coordinator.dashboard
    }

    func addRoutes(to routes: AreaRoutes) {
        ImagesController(images: images, publicURL: publicURL).addRoutes(to: routes.root)
        ImagesDashboard(renderer: renderer, publicURL: publicURL, settings: settings).addRoutes(to: routes.dashboard)
    }
}
