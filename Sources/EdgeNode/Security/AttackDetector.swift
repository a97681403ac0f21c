import DCDNCore
import Foundation
import GeoIP
import NIOPosix
import NodeProtocol
import Synchronization
import WAFKit

/// Recognises attacks and keeps their records: an HTTP flood when a domain's rate is far above
/// its usual one or visitors flood it one by one, a Slowloris when slow connections keep being
/// cut off. Also counts requests by country for the report. `tick` runs every second; requests
/// are counted per thread in between.
final class AttackDetector: Sendable {
    struct Thresholds: Sendable {
        /// A visitor above this many requests per second floods a domain.
        var clientRPS: Int
        /// A domain above this rate and `multiple` times its baseline is flooded.
        var domainRPS: Int
        var multiple: Double = 10
        /// Slow connections cut off within `slowWindow` seconds that make a Slowloris.
        var slowConnections: Int = 10
        var slowWindow: Double = 60
        /// Quiet seconds that end an attack.
        var quietPeriod: Double = 30
    }

    struct Attack: Sendable {
        var event: AttackEvent
        var lastActive: Double
        var sources: [ClientIP: Int] = [:]
    }

    private struct DomainRate {
        /// The last second judged.
        var second: Double = 0
        /// When this node first saw the domain: its usual rate is learnt before it is judged.
        var since: Double = 0
        /// Exponentially weighted requests per second while not under attack.
        var baseline: Double = 0
    }

    private struct State {
        var domains: [String: DomainRate] = [:]
        /// Requests by country since the last report.
        var countries: [String: [UInt16: Int64]] = [:]
        /// Active attacks by "type|domain".
        var attacks: [String: Attack] = [:]
        /// Ended since the last report.
        var ended: [AttackEvent] = []
        var slowCutoffs: [(time: Double, client: ClientIP, domain: String?)] = []
        /// The domains under an HTTP flood and the adaptive client limits, as last published.
        var published = Published()
    }

    /// What the threads read on every request, republished by `tick` when it changes.
    struct Published: Equatable, Sendable {
        /// Domains under an HTTP flood.
        var flooded: Set<String> = []
        /// Per-visitor flood thresholds above the configured one, for domains whose usual rate
        /// is higher: one visitor may send as much as the whole domain usually gets.
        var clientLimits: [String: Int] = [:]
    }

    /// One thread's requests per domain and second, collected by `tick`: requests only take
    /// their own thread's lock, never one shared by every event loop.
    private final class Tally: Sendable {
        struct Counts {
            var requests = 0
            var countries: [UInt16: Int64] = [:]

            mutating func add(_ other: Counts) {
                requests += other.requests
                for (country, count) in other.countries { countries[country, default: 0] += count }
            }
        }

        struct Buckets {
            var second: Double = 0
            var current: [String: Counts] = [:]
            var finished: [(second: Double, counts: [String: Counts])] = []
            /// The published state as of `generation`.
            var generation = -1
            var published = Published()
        }

        let buckets = Mutex(Buckets())
    }

    let thresholds: Thresholds
    let geoIP: GeoIPDatabase?
    private let state = Mutex(State())
    private let local = ThreadSpecificVariable<Tally>()
    private let tallies = Mutex<[Tally]>([])
    /// Bumped whenever the flooded domains change; threads re-read them then.
    private let generation = Atomic<Int>(0)
    private let published = Mutex(Published())

    init(thresholds: Thresholds, geoIP: GeoIPDatabase?) {
        self.thresholds = thresholds
        self.geoIP = geoIP
    }

    /// Seconds a domain's rate is only learnt, not judged (after a node starts or first sees it).
    static let warmUp: Double = 60
    static let unknownCountry = UInt16(UInt8(ascii: "X")) << 8 | UInt16(UInt8(ascii: "X"))

    /// One request to `domain` (every request the edge answers, blocked ones too). Returns
    /// whether the domain is under an HTTP flood now, and its adaptive per-visitor threshold
    /// when that is above the configured one.
    @discardableResult
    func record(domain: String, country: UInt16?, now: Double) -> (flooded: Bool, clientLimit: Int?) {
        let tally = local.currentValue ?? register()
        let current = generation.load(ordering: .acquiring)
        return tally.buckets.withLock { buckets in
            let second = now.rounded(.down)
            if second != buckets.second {
                if !buckets.current.isEmpty {
                    buckets.finished.append((buckets.second, buckets.current))
                    if buckets.finished.count > 120 { buckets.finished.removeFirst() }  // nobody is ticking
                    buckets.current = [:]
                }
                buckets.second = second
            }
            buckets.current[domain, default: Tally.Counts()].requests += 1
            buckets.current[domain]!.countries[country ?? Self.unknownCountry, default: 0] += 1
            if buckets.generation != current {
                buckets.published = published.withLock { $0 }
                buckets.generation = current
            }
            let published = buckets.published
            // Most nodes publish no adaptive limits and no floods: no hashing of the domain then.
            return (
                !published.flooded.isEmpty && published.flooded.contains(domain),
                published.clientLimits.isEmpty ? nil : published.clientLimits[domain]
            )
        }
    }

    private func register() -> Tally {
        let tally = Tally()
        local.currentValue = tally
        tallies.withLock { $0.append(tally) }
        return tally
    }

    /// Judges one domain's complete second against its baseline.
    private func judge(domain: String, second: Double, requests: Int, _ state: inout State) {
        var rate = state.domains[domain] ?? DomainRate(second: second - 1, since: second)
        let key = "http_flood|" + domain
        let warming = second - rate.since < Self.warmUp
        // Seconds without requests count as zero for the usual rate.
        let idle = max(0, second - rate.second - 1)
        if idle > 0, state.attacks[key] == nil { rate.baseline *= pow(1 - 1 / (warming ? 10 : 300), idle) }
        rate.second = second
        let flooded = !warming && requests > thresholds.domainRPS && Double(requests) > thresholds.multiple * max(rate.baseline, 1)
        if flooded {
            open(key: key, domain: domain, type: "http_flood", mitigation: .jsChallenge, rps: requests, now: second, &state)
        } else if state.attacks[key] == nil {
            // The usual rate, learnt over about five minutes (ten seconds while warming up).
            rate.baseline += (Double(requests) - rate.baseline) / (warming ? 10 : 300)
        } else {
            state.attacks[key]!.event.peakRps = max(state.attacks[key]!.event.peakRps, requests)
        }
        if state.attacks[key] != nil { state.attacks[key]!.event.requests += Int64(requests) }
        state.domains[domain] = rate
    }

    /// A visitor started flooding a domain (the guard challenges it from now on).
    func clientFlood(domain: String, client: ClientIP, now: Double) {
        state.withLock { state in
            let key = "http_flood|" + domain
            open(key: key, domain: domain, type: "http_flood", mitigation: .jsChallenge, rps: thresholds.clientRPS, now: now, &state)
            state.attacks[key]!.sources[client, default: 0] += thresholds.clientRPS
        }
    }

    /// A connection cut off for sending its request too slowly; `domain` if its Host was seen.
    func slowClient(_ client: ClientIP, domain: String?, now: Double) {
        state.withLock { state in
            state.slowCutoffs.append((now, client, domain))
            state.slowCutoffs.removeAll { now - $0.time > thresholds.slowWindow }
            if state.slowCutoffs.count > 10_000 { state.slowCutoffs.removeFirst(state.slowCutoffs.count - 10_000) }
            let recent = state.slowCutoffs.filter { $0.domain == domain }
            guard recent.count >= thresholds.slowConnections else { return }
            let key = "slowloris|" + (domain ?? "")
            open(key: key, domain: domain, type: "slowloris", mitigation: .connectionLimits, rps: 0, now: now, &state)
            state.attacks[key]!.event.requests = Int64(recent.count)
            for cutoff in recent { state.attacks[key]!.sources[cutoff.client, default: 0] += 1 }
            state.attacks[key]!.event.peakRps = max(state.attacks[key]!.event.peakRps, recent.count)
        }
    }

    private func open(key: String, domain: String?, type: String, mitigation: Mitigation, rps: Int, now: Double, _ state: inout State) {
        if state.attacks[key] == nil {
            state.attacks[key] = Attack(
                event: AttackEvent(
                    id: UUID(), domain: domain, type: type, severity: "low", peakRps: 0, requests: 0, sourceIps: [], sourceCountries: [],
                    mitigation: mitigation.rawValue, startedAt: Date(timeIntervalSince1970: now), endedAt: nil),
                lastActive: now)
        }
        state.attacks[key]!.lastActive = now
        state.attacks[key]!.event.peakRps = max(state.attacks[key]!.event.peakRps, rps)
    }

    /// Every second: judges the seconds the threads have finished, adds the guard's offenders to
    /// their attacks, ends attacks quiet for `quietPeriod` and tells the threads which domains
    /// are flooded.
    func tick(now: Double, offenders: [String: [(ClientIP, Int)]]) {
        let second = now.rounded(.down)
        var seconds: [Double: [String: Tally.Counts]] = [:]
        for tally in tallies.withLock({ $0 }) {
            tally.buckets.withLock { buckets in
                var done = buckets.finished
                buckets.finished = []
                if buckets.second < second, !buckets.current.isEmpty {
                    done.append((buckets.second, buckets.current))
                    buckets.current = [:]
                }
                for (finished, counts) in done {
                    for (domain, count) in counts { seconds[finished, default: [:]][domain, default: Tally.Counts()].add(count) }
                }
            }
        }
        let flooded = state.withLock { state -> Published? in
            for finished in seconds.keys.sorted() {
                for (domain, counts) in seconds[finished]! {
                    judge(domain: domain, second: finished, requests: counts.requests, &state)
                    for (country, count) in counts.countries { state.countries[domain, default: [:]][country, default: 0] += count }
                }
            }
            for (domain, clients) in offenders {
                let key = "http_flood|" + domain
                guard state.attacks[key] != nil else { continue }
                state.attacks[key]!.lastActive = now
                for (client, requests) in clients {
                    state.attacks[key]!.sources[client] = max(state.attacks[key]!.sources[client] ?? 0, requests)
                }
            }
            for (key, attack) in state.attacks where now - attack.lastActive > thresholds.quietPeriod {
                var event = summary(attack)
                event.endedAt = Date(timeIntervalSince1970: attack.lastActive)
                state.ended.append(event)
                state.attacks.removeValue(forKey: key)
            }
            var next = Published()
            next.flooded = Set(state.attacks.values.filter { $0.event.type == "http_flood" }.compactMap(\.event.domain))
            for (domain, rate) in state.domains where Int(rate.baseline) > thresholds.clientRPS {
                // Rounded down to a tenth of itself, so that the published map rarely changes.
                let step = max(1, Int(rate.baseline) / 10)
                next.clientLimits[domain] = Int(rate.baseline) / step * step
            }
            guard next != state.published else { return nil }
            state.published = next
            return next
        }
        if let flooded {
            published.withLock { $0 = flooded }
            generation.add(1, ordering: .releasing)
        }
    }

    /// The attacks to report (active and ended since the last call) and requests by country.
    func drain() -> (attacks: [AttackEvent], countries: [String: [String: Int64]]) {
        state.withLock { state in
            let attacks = state.ended + state.attacks.values.map(summary)
            state.ended = []
            let countries = state.countries.mapValues { counts in
                Dictionary(uniqueKeysWithValues: counts.map { (GeoIPDatabase.code($0.key), $0.value) })
            }
            state.countries = [:]
            return (attacks, countries)
        }
    }

    /// The wire form: top ten sources, their countries, severity from the peak.
    private func summary(_ attack: Attack) -> AttackEvent {
        var event = attack.event
        let top = attack.sources.sorted { $0.value > $1.value }.prefix(10).map(\.key)
        event.sourceIps = top.map(\.description)
        var countries: [String: Int] = [:]
        for (client, count) in attack.sources {
            let code = geoIP.flatMap { database in
                client.isIPv4 ? database.packedCountry(ipv4: UInt32(client.value)) : database.packedCountry(ipv6: client.value)
            }
            countries[code.map(GeoIPDatabase.code) ?? "XX", default: 0] += count
        }
        event.sourceCountries = countries.sorted { $0.value > $1.value }.prefix(5).map(\.key)
        let limit = Double(event.type == "slowloris" ? thresholds.slowConnections : max(thresholds.clientRPS, 1))
        let ratio = Double(event.peakRps) / limit
        event.severity = ratio >= 20 ? "critical" : ratio >= 5 ? "high" : ratio >= 2 ? "medium" : "low"
        return event
    }
}
