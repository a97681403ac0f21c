import DCDNCore
import Foundation
import GeoIP
import HTTPTypes
import NodeProtocol
import Testing

@testable import WAFKit

@Suite("Managed WAF")
struct ManagedWAFTests {
    struct Sample {
        let category: String
        let location: String
        let payload: String
    }

    static func load(_ name: String, categorised: Bool) throws -> [Sample] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Payloads/\(name)")
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            let fields = line.split(separator: "\t", maxSplits: categorised ? 2 : 1, omittingEmptySubsequences: false).map(String.init)
            return categorised
                ? Sample(category: fields[0], location: fields[1], payload: fields[2])
                : Sample(category: "benign", location: fields[0], payload: fields[1])
        }
    }

    /// The request a sample stands for, as the edge would see it.
    static func inspect(_ sample: Sample, with waf: ManagedWAF) -> ManagedWAF.Verdict {
        var headers: [(String, String)] = [("host", "shop.example"), ("accept", "*/*")]
        var target = "/search"
        var body: [UInt8]?
        let encoded = sample.payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? sample.payload
        let userAgent = sample.location == "ua" ? sample.payload : "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"
        headers.append(("user-agent", userAgent))
        switch sample.location {
        case "query":
            // Payloads that are already a query string or already encoded go in as they are.
            target += "?" + (sample.payload.contains("=") || sample.payload.contains("%") ? sample.payload : "q=" + encoded)
        case "path": target = sample.payload
        case "header": headers.append(("x-custom", sample.payload))
        case "cookie": headers.append(("cookie", sample.payload))
        case "body": body = Array(sample.payload.utf8)
        default: break
        }
        return waf.inspect(method: body == nil ? "GET" : "POST", target: target, headers: headers, body: body)
    }

    @Test("medium blocks at least 95 % of the attack set and at most 1 % of the benign set")
    func detectionAndFalsePositives() throws {
        let attacks = try Self.load("attacks.tsv", categorised: true)
        let benign = try Self.load("benign.tsv", categorised: false)
        #expect(attacks.count > 120 && benign.count > 130)
        var figures: [String] = []
        for sensitivity in ["low", "medium", "high"] {
            let waf = ManagedWAF(sensitivity: sensitivity)
            let missed = attacks.filter { !Self.inspect($0, with: waf).blocked }
            let flagged = benign.filter { Self.inspect($0, with: waf).blocked }
            let detection = Double(attacks.count - missed.count) / Double(attacks.count)
            let falsePositives = Double(flagged.count) / Double(benign.count)
            figures.append(
                "\(sensitivity): detection \(String(format: "%.1f", detection * 100)) % of \(attacks.count), false positives \(String(format: "%.1f", falsePositives * 100)) % of \(benign.count)"
            )
            if sensitivity == "medium" {
                #expect(detection >= 0.95, "missed: \(missed.map { "\($0.category) \($0.payload)" })")
                #expect(falsePositives <= 0.01, "flagged: \(flagged.map(\.payload))")
            }
            if sensitivity == "low" { #expect(falsePositives <= 0.01, "flagged: \(flagged.map(\.payload))") }
            // High runs every rule medium does and more: it detects at least as much.
            if sensitivity == "high" { #expect(detection >= 0.95 && falsePositives <= 0.05, "high: \(detection), \(falsePositives)") }
            if sensitivity == "medium" {
                let why = flagged.map { "\($0.payload) \(Self.inspect($0, with: waf).findings.map(\.rule))" }
                figures.append("medium misses \(missed.map(\.payload)) and flags \(why)")
            }
        }
        print("WAF figures — " + figures.joined(separator: "; "))
    }

    @Test("off inspects nothing")
    func off() {
        let waf = ManagedWAF(sensitivity: "off")
        #expect(!waf.isOn)
        #expect(!waf.inspect(method: "GET", target: "/?q=%3Cscript%3E", headers: []).blocked)
    }

    @Test("normalisation decodes URL and HTML encodings, comments, case and whitespace")
    func normalisation() {
        #expect(ManagedWAF.normalize("%253Cscript%253E", form: false) == "<script>")
        #expect(ManagedWAF.normalize("&lt;ScRiPt&gt;", form: false) == "<script>")
        #expect(ManagedWAF.normalize("UNION/**/SELECT", form: false) == "union select")
        #expect(ManagedWAF.normalize("a+b%20%20\tc", form: true) == "a b c")
        #expect(ManagedWAF.normalize("..\\..\\win.ini", form: false) == "../../win.ini")
        #expect(ManagedWAF.normalize("&#x6a;avascript&#58;", form: false) == "javascript:")
        #expect(ManagedWAF.normalize("%u003cscript", form: false) == "<script")
    }

    @Test("a request over the threshold lists its findings; each rule counts once")
    func findings() {
        let verdict = ManagedWAF(sensitivity: "medium").inspect(
            method: "GET", target: "/?a=%3Cscript%3E&b=%3Cscript%3E", headers: [("user-agent", "x")])
        #expect(verdict.blocked)
        #expect(verdict.findings.filter { $0.rule == 941_110 }.count == 1)
        #expect(verdict.findings.allSatisfy { $0.category == .xss })
    }

    @Test("the image endpoint may name a source by address; elsewhere that is file inclusion")
    func imageSources() {
        let waf = ManagedWAF(sensitivity: "medium")
        let headers = [("user-agent", "x")]
        #expect(!waf.inspect(method: "GET", target: "/cdn-cgi/image/?url=http://203.0.113.5/a.jpg&w=90", headers: headers).blocked)
        #expect(waf.inspect(method: "GET", target: "/page?url=http://203.0.113.5/a.jpg", headers: headers).blocked)
        #expect(waf.inspect(method: "GET", target: "/cdn-cgi/image/?url=http://x.example/%3Cscript%3E", headers: headers).blocked)
    }

    @Test("protocol anomalies: request smuggling and TRACE")
    func protocolAnomalies() {
        let waf = ManagedWAF(sensitivity: "low")
        #expect(
            waf.inspect(method: "POST", target: "/", headers: [("content-length", "4"), ("transfer-encoding", "chunked")]).blocked)
        #expect(waf.inspect(method: "TRACE", target: "/", headers: [("user-agent", "x")]).blocked)
        #expect(!waf.inspect(method: "GET", target: "/", headers: [("user-agent", "x")]).blocked)
    }
}
