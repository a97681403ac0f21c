import Foundation
import Logging
import Testing

@testable import DCDNCore

@Suite("Credits")
struct CreditsTests {
    @Test("decimal amounts convert exactly to micro-credits")
    func exact() throws {
        #expect(Credits(decimal: Decimal(string: "12.5")!)?.micro == 12_500_000)
        #expect(Credits(decimal: Decimal(string: "0.000001")!)?.micro == 1)
        #expect(Credits(decimal: Decimal(string: "0.0000001")!) == nil, "more than six decimals is refused, not rounded")
        #expect(Credits(5) + Credits(micro: 1) == Credits(micro: 5_000_001))
    }

    @Test("JSON carries credits as plain numbers")
    func json() throws {
        struct Box: Codable { var amount: Credits }
        let data = try JSONEncoder().encode(Box(amount: Credits(micro: 1_004_000_000)))
        #expect(String(decoding: data, as: UTF8.self) == #"{"amount":1004}"#)
        let decoded = try JSONDecoder().decode(Box.self, from: Data(#"{"amount":0.25}"#.utf8))
        #expect(decoded.amount.micro == 250_000)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Box.self, from: Data(#"{"amount":1e30}"#.utf8)) }
    }
}

@Suite("IP addresses and networks")
struct NetworkTests {
    @Test("parsing is strict")
    func strict() {
        #expect(IPAddress("127.0.0.1") != nil)
        #expect(IPAddress("::1") != nil)
        #expect(IPAddress("127.1") == nil)
        #expect(IPAddress("2130706433") == nil)
        #expect(IPAddress("0x7f.0.0.1") == nil)
        #expect(IPAddress("::ffff:10.0.0.1")?.unmapped.description == "10.0.0.1")
    }

    @Test("CIDR membership, IPv4-mapped addresses included")
    func cidr() {
        let private10 = CIDR("10.0.0.0/8")!
        #expect(private10.contains(IPAddress("10.200.1.1")!))
        #expect(!private10.contains(IPAddress("11.0.0.1")!))
        #expect(private10.contains(IPAddress("::ffff:10.0.0.1")!))
        #expect(CIDR("2001:db8::/32")!.contains(IPAddress("2001:db8:1::5")!))
        #expect(CIDR("10.0.0.0/33") == nil)
        #expect(CIDR("192.168.1.7")!.prefixLength == 32)
    }
}

@Suite("Settings")
struct SettingsTests {
    @Test("flags beat the environment, which beats the config file, which beats defaults")
    func precedence() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dcdn-\(UUID()).json")
        try Data(#"{"api_port": 9000, "host": "10.0.0.1", "log_level": "debug", "bcrypt_cost": 5}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let settings = try await DCDNSettings.load(
            role: .coordinator, flags: ["config": file.path, "api_port": "7000"],
            environment: ["DCDN_API_PORT": "8000", "DCDN_HOST": "10.0.0.2", "DATABASE_URL": "postgres://u@h/db"])
        #expect(settings.apiPort == 7000)
        #expect(settings.host == "10.0.0.2")
        #expect(settings.logLevel == .debug)
        #expect(settings.bcryptCost == 5)
        #expect(settings.databaseURL == "postgres://u@h/db")
        #expect(settings.edge == nil && settings.dns == nil, "the coordinator reads no role's section")
        let dev = try await DCDNSettings.load(role: .dev, flags: [:], environment: [:])
        #expect(dev.host == "127.0.0.1")
        #expect(dev.apiPort == 8080)
        #expect(dev.edge?.httpPort == 8081)
        #expect(dev.dns?.port == 5353)
        #expect(dev.dataDirectory == "./.dcdn")
        #expect(dev.loginRateLimit == RateLimitSetting(count: 3, seconds: 600))
    }

    @Test("each role reads its own section; a node never reads the coordinator's settings")
    func scoped() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dcdn-\(UUID()).json")
        try Data(
            #"{"coordinator_url": "https://cdn.example", "edge": {"http_port": 9090, "cache_disk_mb": 0, "flood_client_rps": 500}, "dns": {"port": 5300}, "node": {"region": "eu"}}"#
                .utf8
        ).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        // Settings only the coordinator reads are broken here: a node starts all the same.
        let environment = [
            "DCDN_RATE_LIMIT_LOGIN": "lots", "DCDN_OIDC_CLIENT_ID": "x", "DCDN_EDGE_HTTPS_PORT": "9443", "DCDN_NODE_TOKEN": "dcdn_node_t",
        ]
        let reader = try await SettingsReader.load(flags: ["config": file.path, "edge.http_port": "9091"], environment: environment)
        let edge = try EdgeSettings(reader, dev: false)
        #expect(edge.httpPort == 9091, "a flag beats the file")
        #expect(edge.httpsPort == 9443, "DCDN_EDGE_HTTPS_PORT is edge.https_port")
        #expect(edge.cacheDiskMB == 0 && edge.cacheMemoryMB == 256)
        #expect(edge.protection.floodClientRPS == 500)
        #expect(try NameServerSettings(reader, dev: false).port == 5300)
        let node = try NodeSettings(reader)
        #expect(node.coordinatorURL == "https://cdn.example" && node.token == "dcdn_node_t" && node.region == "eu")
        #expect(throws: SettingsError.self) { try DCDNSettings(role: .coordinator, reader: reader) }
        // And the coordinator does not fail on a role's section it does not run.
        let coordinator = try DCDNSettings(role: .coordinator, reader: .values(["edge.max_connections_per_ip": "lots"]))
        #expect(coordinator.acmeDirectoryURL == "https://acme-v02.api.letsencrypt.org/directory" && coordinator.jobLeaseSeconds == 60)
        // Empty turns issuance off (as documented), where other empty settings mean "the default".
        let off = try await SettingsReader.load(flags: [:], environment: ["DCDN_ACME_DIRECTORY_URL": "", "DCDN_JOB_LEASE": "5"])
        let quiet = try DCDNSettings(role: .coordinator, reader: off)
        #expect(quiet.acmeDirectoryURL == "" && quiet.jobLeaseSeconds == 5)
        #expect(throws: SettingsError.self) { try DCDNSettings(role: .coordinator, reader: .values(["job_lease": "1"])) }
        let bad = #expect(throws: SettingsError.self) {
            try EdgeSettings(.values(["edge.max_connections_per_ip": "lots"]), dev: false)
        }
        #expect(bad?.key == "edge.max_connections_per_ip")
        let missing = #expect(throws: SettingsError.self) { try NodeSettings(.values(["coordinator_url": "https://cdn.example"])) }
        #expect(missing?.key == "node.token")
    }

    @Test("bad values name the setting")
    func errors() async throws {
        let port = await #expect(throws: SettingsError.self) {
            try await DCDNSettings.load(role: .dev, flags: ["api_port": "99999"], environment: [:])
        }
        #expect(port?.key == "api_port")
        let limit = await #expect(throws: SettingsError.self) {
            try await DCDNSettings.load(role: .dev, flags: [:], environment: ["DCDN_RATE_LIMIT_LOGIN": "lots"])
        }
        #expect(limit?.key == "rate_limit_login")
        let oidc = await #expect(throws: SettingsError.self) {
            try await DCDNSettings.load(role: .dev, flags: [:], environment: ["DCDN_OIDC_CLIENT_ID": "x"])
        }
        #expect(oidc?.key == "oidc_client_secret")
        let missing = await #expect(throws: SettingsError.self) {
            try await DCDNSettings.load(role: .dev, flags: ["config": "/nonexistent.json"], environment: [:])
        }
        #expect(missing?.key == "config")
    }
}

@Suite("Page rule patterns")
struct PageRulePatternTests {
    @Test("wildcards match any run, captures fill $n, schemes and hosts are respected")
    func matching() throws {
        let api = try #require(PageRulePattern("*.example.com/api/*"))
        #expect(api.match(scheme: "http", url: "www.example.com/api/users?x=1") == ["www", "users?x=1"])
        #expect(api.match(scheme: "http", url: "example.com/api/users") == nil, "*. needs a label")
        #expect(try #require(PageRulePattern("*example.com/api/*")).match(scheme: "http", url: "example.com/api/") == ["", ""])
        #expect(try #require(PageRulePattern("EXAMPLE.com/Path")).match(scheme: "http", url: "example.com/Path") == [])
        #expect(try #require(PageRulePattern("example.com")).match(scheme: "http", url: "example.com/") == [])
        #expect(try #require(PageRulePattern("example.com")).match(scheme: "http", url: "example.com/x") == nil)
        let https = try #require(PageRulePattern("https://example.com/*"))
        #expect(https.match(scheme: "http", url: "example.com/a") == nil)
        #expect(https.match(scheme: "https", url: "example.com/a") == ["a"])
        #expect(
            try #require(PageRulePattern("example.com/*/img/*.jpg")).match(scheme: "http", url: "example.com/a/b/img/c.jpg") == [
                "a/b", "c",
            ])
        #expect(
            PageRulePattern("") == nil && PageRulePattern("a b") == nil
                && PageRulePattern("example.com/" + String(repeating: "*", count: 9)) == nil)
        // Linear even for patterns that make backtracking matchers explode.
        let nasty = try #require(PageRulePattern("example.com/*a*a*a*a*a*a*a*b"))
        #expect(nasty.match(scheme: "http", url: "example.com/" + String(repeating: "a", count: 5000)) == nil)
    }

    @Test("forwarding targets substitute captures")
    func substitution() {
        #expect(PageRulePattern.substitute("https://new.example/$1?from=$2", captures: ["a/b", "x"]) == "https://new.example/a/b?from=x")
        #expect(PageRulePattern.substitute("$3 and $$ and $", captures: ["a"]) == " and $$ and $")
    }
}
