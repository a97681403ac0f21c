import Testing

@testable import DCDNCore

@Suite("The one normalised request path (RFC 3986 §6.2.2, as nginx resolves it)")
struct RequestPathTests {
    @Test("every spelling of /admin/panel that nginx and Apache serve as /admin/panel normalises to it")
    func spellings() {
        for spelling in [
            "/admin/panel", "//admin/panel", "/./admin/panel", "/%61dmin/panel", "/%2e/admin/panel", "/%2E/admin/panel",
            "/x/../admin/panel", "/x/%2e%2e/admin/panel", "///admin//panel", "/admin/./panel", "/admin%2fpanel", "/admin%2Fpanel",
            "/%61%64%6d%69%6e/panel", "/admin/panel/x/../", "/../admin/panel", "/admin/%2e/panel", "admin/panel",
        ] {
            let expected = spelling.hasSuffix("/") ? "/admin/panel/" : "/admin/panel"
            #expect(RequestPath.normalize(spelling[...]) == expected, "\(spelling)")
        }
    }

    @Test("trailing slashes, queries, double encoding and invalid escapes")
    func details() {
        #expect(RequestPath.normalize("/admin/"[...]) == "/admin/")
        #expect(RequestPath.normalize("/admin/x/.."[...]) == "/admin/")
        #expect(RequestPath.normalize("/admin/."[...]) == "/admin/")
        #expect(RequestPath.normalize("/"[...]) == "/")
        #expect(RequestPath.normalize(""[...]) == "/")
        #expect(RequestPath.normalize("/.."[...]) == "/")
        #expect(RequestPath.normalize("/admin?x=/../y"[...]) == "/admin", "the query is not the path")
        #expect(RequestPath.normalize("/%2561dmin"[...]) == "/%61dmin", "decoded once, as the origin decodes it")
        #expect(RequestPath.normalize("/a%zzb"[...]) == "/a%zzb", "an invalid escape stays as it is")
        #expect(RequestPath.normalize("/a%2"[...]) == "/a%2")
        #expect(RequestPath.normalize("/...."[...]) == "/....", "only . and .. are dot segments")
        #expect(RequestPath.normalize("/caf%C3%A9"[...]) == "/café")
        #expect(RequestPath.normalizeTarget("//admin/../login?next=//x") == "/login?next=//x")
        // The common path is returned as it came.
        #expect(RequestPath.normalize("/static/app.js"[...]) == "/static/app.js")
        #expect(RequestPath.normalize("/.well-known/acme-challenge/x"[...]) == "/.well-known/acme-challenge/x")
    }
}

@Suite("Origin address policy")
struct OriginAddressPolicyTests {
    @Test("private, loopback, link-local, metadata and embedded forms are refused; public and documentation addresses pass")
    func refusals() {
        let policy = OriginAddressPolicy()
        for address in [
            "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.9.9.9", "0.0.0.0", "169.254.169.254", "100.64.0.1", "::1", "::",
            "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "64:ff9b::a00:1", "2002:c0a8:101::1", "224.0.0.1",
        ] {
            #expect(!policy.permits(IPAddress(address)!), "\(address)")
            #expect(policy.refusal(IPAddress(address)!) != nil)
        }
        for address in ["93.184.216.34", "198.51.100.7", "192.0.2.1", "2001:db8::1", "2606:4700::1111"] {
            #expect(policy.permits(IPAddress(address)!), "\(address)")
        }
    }

    @Test("dev allows loopback only; the operator's ranges are allowed")
    func allowances() {
        let dev = OriginAddressPolicy(allowLoopback: true)
        #expect(dev.permits(IPAddress("127.0.0.1")!) && dev.permits(IPAddress("::1")!) && dev.permits(IPAddress("::ffff:127.0.0.1")!))
        #expect(!dev.permits(IPAddress("10.0.0.1")!) && !dev.permits(IPAddress("0.0.0.0")!) && !dev.permits(IPAddress("169.254.169.254")!))
        let lab = OriginAddressPolicy(allowed: [CIDR("10.20.0.0/16")!, CIDR("fd00:1::/64")!])
        #expect(lab.permits(IPAddress("10.20.3.4")!) && lab.permits(IPAddress("::ffff:10.20.3.4")!) && lab.permits(IPAddress("fd00:1::5")!))
        #expect(!lab.permits(IPAddress("10.21.0.1")!) && !lab.permits(IPAddress("127.0.0.1")!))
    }
}
