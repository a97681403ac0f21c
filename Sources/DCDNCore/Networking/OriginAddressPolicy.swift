/// Which addresses the edge may connect to as a customer's origin, and the coordinator accepts
/// for one. On a shared platform a customer must never reach the operator's own network through
/// the edge (SSRF): private, loopback, link-local (cloud metadata at 169.254.169.254 included),
/// shared and other special-purpose addresses (`IPAddress.isInternal`) are refused, as IPv4 and in
/// every IPv6 form that embeds one. The operator may allow ranges (`private_origins`); `dcdn dev`
/// allows loopback only, where its demo site and tests' origins listen. docs/security.md.
public struct OriginAddressPolicy: Sendable, Equatable {
    /// Loopback (127.0.0.0/8, ::1) is allowed: `dcdn dev`.
    public var allowLoopback: Bool
    /// Internal ranges the operator allows all the same (`private_origins`).
    public var allowed: [CIDR]

    public init(allowLoopback: Bool = false, allowed: [CIDR] = []) {
        self.allowLoopback = allowLoopback
        self.allowed = allowed
    }

    static let loopback = ["127.0.0.0/8", "::1/128"].compactMap(CIDR.init)

    /// True when the edge may connect to `address` for a customer.
    public func permits(_ address: IPAddress) -> Bool {
        guard address.isInternal else { return true }
        let plain = address.embeddedIPv4 ?? address
        if allowLoopback, Self.loopback.contains(where: { $0.contains(plain) }) { return true }
        return allowed.contains { $0.contains(plain) || $0.contains(address) }
    }

    /// Why `address` is refused, for an error message; nil when it is permitted.
    public func refusal(_ address: IPAddress) -> String? {
        permits(address) ? nil : "\(address) is not a public address"
    }
}
