import Foundation
import Synchronization

/// Collapsed forwarding: the first request that misses a key fetches it from the origin; others
/// for the same key wait for that fetch to be stored, then read the cache.
package final class FlightTable: Sendable {
    private struct Waiter {
        package let id: UUID
        package let continuation: CheckedContinuation<Void, Never>
    }
    private let flights = Mutex<[String: [Waiter]]>([:])

    package init() {}

    /// A leader's ticket: returned to the first requester of a key, nil to the others.
    package final class Ticket: Sendable {
        package let table: FlightTable
        package let key: String
        private let done = Atomic<Bool>(false)

        package init(table: FlightTable, key: String) {
            self.table = table
            self.key = key
        }

        /// Wakes the followers; also runs when the ticket is dropped (a response never written).
        package func finish() {
            guard !done.exchange(true, ordering: .relaxed) else { return }
            table.land(key)
        }

        deinit { finish() }
    }

    /// The ticket when this request leads the fetch of `key`.
    package func lead(_ key: String) -> Ticket? {
        let leads = flights.withLock { flights in
            if flights[key] != nil { return false }
            flights[key] = []
            return true
        }
        return leads ? Ticket(table: self, key: key) : nil
    }

    /// Waits until the leader finishes or `timeout` passes; false on timeout.
    package func follow(_ key: String, timeout: Duration) async -> Bool {
        let id = UUID()
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let landed = self.flights.withLock { flights -> Bool in
                        guard flights[key] != nil else { return true }
                        flights[key]!.append(Waiter(id: id, continuation: continuation))
                        return false
                    }
                    if landed { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                // Release this waiter if it is still queued.
                let waiter = self.flights.withLock { flights -> Waiter? in
                    guard let index = flights[key]?.firstIndex(where: { $0.id == id }) else { return nil }
                    return flights[key]!.remove(at: index)
                }
                waiter?.continuation.resume()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func land(_ key: String) {
        let waiters = flights.withLock { $0.removeValue(forKey: key) ?? [] }
        for waiter in waiters { waiter.continuation.resume() }
    }
}
