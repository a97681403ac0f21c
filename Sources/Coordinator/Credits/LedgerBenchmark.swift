import DCDNCore
import FluentKit
import Foundation

/// Spends from a set of funded accounts with many concurrent clients, as fast as the database
/// allows (`dcdn admin bench-ledger`; scripts/bench/ledger.sh compares it with raw SQL).
public struct LedgerBenchmark: Sendable {
    let ledger: CreditLedger
    let store: DatabaseStore
    let clients: Int
    let accounts: Int
    let seconds: Int

    public init(coordinator: Coordinator, clients: Int, accounts: Int, seconds: Int) {
        ledger = coordinator.ledger
        store = coordinator.store
        self.clients = clients
        self.accounts = accounts
        self.seconds = seconds
    }

    public struct Result: Sendable {
        public var spends: Int
        public var refused: Int
        public var seconds: Double
    }

    public func run() async throws -> Result {
        let run = UUID().uuidString.prefix(8)
        var users: [UUID] = []
        for index in 0..<accounts {
            let user = User(email: "bench-\(run)-\(index)@bench.invalid", passwordHash: nil, role: .user, planID: PlanCatalog.defaultPlanID)
            try await user.create(on: store.db)
            users.append(user.id!)
            // Several grants each, so spends walk FIFO across grant boundaries.
            for grant in 0..<4 {
                try await ledger.grant(
                    .init(
                        userID: user.id!, amount: Credits(250_000), source: .admin, category: "bench", description: "benchmark funds",
                        idempotencyKey: "bench-\(grant)"))
            }
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        let ledger = ledger
        let userList = users
        let counts = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for client in 0..<clients {
                group.addTask {
                    var spends = 0
                    var refused = 0
                    var n = 0
                    while ContinuousClock.now < deadline {
                        let user = userList[(client + n * clients) % userList.count]
                        n += 1
                        do {
                            try await ledger.charge(
                                user, Credits(micro: 1_250_000), category: "Bench: spend", idempotencyKey: "bench:\(client):\(n)")
                            spends += 1
                        } catch let error as APIError where error.code == .insufficientCredits {
                            refused += 1
                        }
                    }
                    return (spends, refused)
                }
            }
            var total = (0, 0)
            for try await (spends, refused) in group {
                total.0 += spends
                total.1 += refused
            }
            return total
        }
        let elapsed = ContinuousClock.now - start
        return Result(
            spends: counts.0, refused: counts.1,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
