import DCDNCore
import Foundation
import Synchronization

/// Where the edge connects for a customer's origin (docs/security.md, "Origin addresses"). An
/// address origin is checked against the policy; a host-name origin is resolved here, every
/// address it has must pass, and the connection is pinned to a checked address, so that a name
/// whose DNS the customer controls cannot lead the edge into the operator's network, not even by
/// answering differently a second later (DNS rebinding). Answers are kept `ttl` seconds.
final class OriginAddresses: Sendable {
    enum Decision: Equatable, Sendable {
        case connect(IPAddress)
        /// Not a permitted address (why, for the log and the page).
        case refused(String)
        /// The name does not resolve.
        case unresolved
    }

    let policy: OriginAddressPolicy
    let ttl: Double
    let resolve: @Sendable (String) async -> [IPAddress]
    private let answers = Mutex<[String: (decision: Decision, expires: Double)]>([:])

    init(
        policy: OriginAddressPolicy, ttl: Double = 30,
        resolve: @escaping @Sendable (String) async -> [IPAddress] = { await HostResolver.addresses(of: $0) }
    ) {
        self.policy = policy
        self.ttl = ttl
        self.resolve = resolve
    }

    /// The address to connect to for `host` (an IP literal or a name).
    func decide(_ host: String) async -> Decision {
        if let literal = IPAddress(host) { return policy.refusal(literal).map(Decision.refused) ?? .connect(literal) }
        let now = Date().timeIntervalSince1970
        if let known = answers.withLock({ $0[host] }), known.expires > now { return known.decision }
        let addresses = await resolve(host)
        let decision: Decision
        if addresses.isEmpty {
            decision = .unresolved
        } else if let refused = addresses.first(where: { !policy.permits($0) }) {
            decision = .refused("\(host) resolves to \(refused), which is not a public address")
        } else {
            decision = .connect(addresses[0])
        }
        answers.withLock { answers in
            if answers.count > 10_000 { answers.removeAll() }
            answers[host] = (decision, now + ttl)
        }
        return decision
    }
}
