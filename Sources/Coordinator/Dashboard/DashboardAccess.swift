import Hummingbird

extension AppRequestContext {
    /// For signed-in dashboard pages: a visitor without a session goes to the sign-in page.
    func requirePage() throws -> Identity {
        guard let identity else { throw HTTPError(.seeOther, headers: [.location: "/dashboard/login"]) }
        return identity
    }

    /// For admin dashboard pages: signed out goes to sign-in, a non-admin gets 403.
    func requireAdminPage() throws -> Identity {
        let identity = try requirePage()
        guard identity.user.role == .admin else { throw APIError.forbidden }
        return identity
    }
}
