import DCDNCore
import Foundation
import Testing

@testable import ImageKit

@Suite("Image sources: SSRF checks")
struct SourceFetcherTests {
    @Test(
        "internal addresses are recognised, including IPv6 forms that embed IPv4",
        arguments: [
            "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1", "255.255.255.255", "198.18.0.1", "::1", "::", "fd00::1", "fc00::1", "fe80::1", "ff02::1",
            "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "2001::1", "::127.0.0.1",
        ])
    func internalAddresses(text: String) throws {
        #expect(try #require(IPAddress(text)).isInternal)
    }

    @Test(
        "public addresses are not",
        arguments: ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::", "203.0.113.7"])
    func publicAddresses(text: String) throws {
        #expect(!(try #require(IPAddress(text)).isInternal))
    }

    @Test(
        "every way of writing a loopback or private host is refused before connecting",
        arguments: [
            "http://127.0.0.1/a.jpg", "http://localhost/a.jpg", "http://LOCALHOST./a.jpg", "http://2130706433/a.jpg",
            "http://0x7f000001/a.jpg",
            "http://0177.0.0.1/a.jpg", "http://127.1/a.jpg", "http://[::1]/a.jpg", "http://[::ffff:127.0.0.1]/a.jpg",
            "http://[::ffff:7f00:1]/a.jpg", "http://10.0.0.1/a.jpg", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/a.jpg",
            "http://0.0.0.0/a.jpg", "http://[fd00::1]/a.jpg", "http://[fe80::1]/a.jpg", "http://224.0.0.1/a.jpg",
            "http://[2002:7f00:1::]/a.jpg",
            "http://[64:ff9b::7f00:1]/a.jpg", "https://192.168.1.1:8443/a.jpg", "http://0/a.jpg",
        ])
    func refused(url: String) async throws {
        let fetcher = SourceFetcher()
        do {
            let pin = try await fetcher.pin(try ImageOptions.source(url))
            Issue.record("\(url) was pinned to \(pin)")
        } catch {
            #expect(error.status == 400 && error.code == .sourceForbidden && error.field == "url", "\(url): \(error)")
        }
    }

    @Test("an operator's named private source is pinned to its address and port")
    func privateSource() async throws {
        let fetcher = SourceFetcher(policy: .init(privateSources: ["images.internal": "10.0.0.5:8080"]))
        #expect(try await fetcher.pin(URL(string: "http://images.internal/a.jpg")!) == .init(address: "10.0.0.5", port: 8080))
        await #expect(throws: ImageError.self) { try await fetcher.pin(URL(string: "http://other.internal.invalid/a.jpg")!) }
    }
}
