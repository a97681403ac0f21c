import Crypto
import DCDNCore
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird
import NodeProtocol
import WAFKit

/// The JavaScript proof-of-work challenge of Under Attack Mode and of `challenge` actions.
///
/// The page carries a token the node signed (expiry, difficulty, random), bound to the visitor's
/// address prefix, User-Agent and the domain. The browser finds a nonce such that
/// SHA-256(token + nonce) starts with `difficulty` zero bits and posts both to
/// `/cdn-cgi/challenge`; the node checks the signature and the one hash, then sets a clearance
/// cookie signed with the network's key — so every node honours it — and sends the visitor back to
/// the URL they asked for. A client that runs no JavaScript never gets past the page.
struct UnderAttackChallenge: Sendable {
    static let path = "/cdn-cgi/challenge"
    static let cookieName = "dcdn_clearance"
    /// How long a challenge page's token may be solved.
    static let tokenLifetime: TimeInterval = 300

    let key: SymmetricKey
    let difficulty: Int

    init(_ protection: ProtectionConfig?) {
        let secret = protection.flatMap { Data(base64Encoded: $0.clearanceKey) }
        // Without a key from the coordinator (a node that never synced) clearances are local.
        key = secret.map { SymmetricKey(data: $0) } ?? SymmetricKey(size: .bits256)
        difficulty = min(max(protection?.challengeDifficulty ?? 16, 1), 28)
    }

    /// What a clearance or token is bound to.
    struct Visitor {
        let domain: String
        let client: ClientIP?
        let userAgent: String

        var binding: String { "\(domain)|\(client?.clearancePrefix ?? "-")|\(userAgent)" }

        init(domain: String, client: ClientIP?, userAgent: String) {
            self.domain = domain
            self.client = client
            self.userAgent = userAgent
        }

        /// The visitor of a request to `domain`.
        init(domain: String, client: ClientIP?, head: HTTPRequest) {
            self.init(domain: domain, client: client, userAgent: head.headerFields[.userAgent] ?? "")
        }
    }

    // MARK: Tokens

    func token(for visitor: Visitor, now: Date = Date()) -> String {
        let random = (0..<12).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let payload = "\(Int(now.timeIntervalSince1970 + Self.tokenLifetime)).\(difficulty).\(random)"
        return payload + "." + sign("challenge|" + payload + "|" + visitor.binding)
    }

    /// The token is ours, unexpired and for this visitor, and SHA-256(token + nonce) has the
    /// token's difficulty in leading zero bits.
    func verify(token: String, nonce: String, visitor: Visitor, now: Date = Date()) -> Bool {
        let parts = token.split(separator: ".")
        guard parts.count == 4, nonce.utf8.count <= 32, let expiry = Double(parts[0]), let bits = Int(parts[1]),
            expiry > now.timeIntervalSince1970, bits >= 1, bits <= 28
        else { return false }
        let payload = parts[0...2].joined(separator: ".")
        guard constantTimeEqual(sign("challenge|" + payload + "|" + visitor.binding), String(parts[3])) else { return false }
        return Self.work(token + nonce) >= bits
    }

    /// The leading zero bits of the text's SHA-256: the proof of work a nonce carries.
    static func work(_ text: String) -> Int {
        var bits = 0
        for byte in SHA256.hash(data: Data(text.utf8)) {
            if byte == 0 {
                bits += 8
                continue
            }
            return bits + byte.leadingZeroBitCount
        }
        return bits
    }

    // MARK: Clearance

    func clearance(for visitor: Visitor, minutes: Int, now: Date = Date()) -> String {
        let expiry = Int(now.timeIntervalSince1970) + max(minutes, 1) * 60
        return "\(expiry).\(sign("clearance|\(expiry)|" + visitor.binding))"
    }

    /// Whether the request carries an unexpired clearance for this visitor.
    func isCleared(_ headers: HTTPFields, visitor: Visitor, now: Date = Date()) -> Bool {
        guard let value = Self.cookie(Self.cookieName, in: headers) else { return false }
        let parts = value.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let expiry = Int(parts[0]), Double(expiry) > now.timeIntervalSince1970 else { return false }
        return constantTimeEqual(sign("clearance|\(expiry)|" + visitor.binding), String(parts[1]))
    }

    static func cookie(_ name: String, in headers: HTTPFields) -> String? { headers.cookie(name) }

    private func sign(_ message: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)
        return Data(mac).prefix(20).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
    }

    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    // MARK: Pages

    /// The challenge page: 403, never cached, solving in the browser and posting back.
    func page(for visitor: Visitor, returnTo: String) -> Response {
        let token = token(for: visitor)
        let html = Self.html.replacingOccurrences(of: "{{TOKEN}}", with: token).replacingOccurrences(
            of: "{{RETURN}}", with: EdgePages.escape(returnTo)
        )
        .replacingOccurrences(of: "{{DOMAIN}}", with: EdgePages.escape(visitor.domain))
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store, max-age=0"]
        headers[.cacheStatus] = "DCDN; detail=challenge"
        headers[Self.mitigatedField] = "challenge"
        EdgePages.addSecurityHeaders(&headers)
        headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; form-action 'self'"
        return Response(status: .forbidden, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let mitigatedField = HTTPField.Name("DCDN-Mitigated")!

    /// Where a solved challenge sends the visitor: a path on the same site, never elsewhere.
    static func safeReturn(_ value: String?) -> String {
        guard let value, value.hasPrefix("/"), !value.hasPrefix("//"), !value.hasPrefix("/\\"), value.utf8.count <= 2048,
            !value.utf8.contains(where: { $0 < 0x20 })
        else { return "/" }
        return value
    }

    static let html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Just a moment…</title>
        <style>body{font:16px system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1b1f24}main{max-width:560px;margin:12vh auto;padding:24px;background:#fff;border:1px solid #d0d7de;border-radius:8px}h1{font-size:22px}small{color:#57606a}progress{width:100%}</style>
        </head><body><main><h1>Checking your browser before {{DOMAIN}}</h1>
        <p id="status">This site is protected by DCDN. Your browser is solving a short puzzle; you will be on your way in a moment.</p>
        <progress id="progress"></progress>
        <noscript><p><strong>JavaScript is required.</strong> Turn it on and reload this page to continue to {{DOMAIN}}.</p></noscript>
        <form id="challenge" method="post" action="/cdn-cgi/challenge">
        <input type="hidden" name="token" value="{{TOKEN}}"><input type="hidden" name="nonce" value="">
        <input type="hidden" name="return" value="{{RETURN}}"></form>
        <p><small>DDoS protection by DCDN</small></p></main>
        <script>
        (function(){
        var K=[0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2];
        function r(v,n){return (v>>>n)|(v<<(32-n));}
        function first(text){
        var b=[],i,j;for(i=0;i<text.length;i++)b.push(text.charCodeAt(i)&255);
        var bits=b.length*8;b.push(0x80);while(b.length%64!==56)b.push(0);
        b.push(0,0,0,0,(bits>>>24)&255,(bits>>>16)&255,(bits>>>8)&255,bits&255);
        var H=[0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19],w=new Array(64);
        for(j=0;j<b.length;j+=64){
        for(i=0;i<16;i++)w[i]=(b[j+4*i]<<24)|(b[j+4*i+1]<<16)|(b[j+4*i+2]<<8)|b[j+4*i+3];
        for(i=16;i<64;i++){var s0=r(w[i-15],7)^r(w[i-15],18)^(w[i-15]>>>3),s1=r(w[i-2],17)^r(w[i-2],19)^(w[i-2]>>>10);w[i]=(w[i-16]+s0+w[i-7]+s1)|0;}
        var a=H[0],c1=H[1],c=H[2],d=H[3],e=H[4],f=H[5],g=H[6],h=H[7];
        for(i=0;i<64;i++){var t1=(h+(r(e,6)^r(e,11)^r(e,25))+((e&f)^(~e&g))+K[i]+w[i])|0,t2=((r(a,2)^r(a,13)^r(a,22))+((a&c1)^(a&c)^(c1&c)))|0;h=g;g=f;f=e;e=(d+t1)|0;d=c;c=c1;c1=a;a=(t1+t2)|0;}
        H[0]=(H[0]+a)|0;H[1]=(H[1]+c1)|0;H[2]=(H[2]+c)|0;H[3]=(H[3]+d)|0;H[4]=(H[4]+e)|0;H[5]=(H[5]+f)|0;H[6]=(H[6]+g)|0;H[7]=(H[7]+h)|0;}
        return H;}
        var form=document.getElementById("challenge"),token=form.token.value,need=parseInt(token.split(".")[1],10),n=0;
        function zeros(H){var z=Math.clz32(H[0]);return z<32?z:32+Math.clz32(H[1]);}
        function work(){var end=Date.now()+50;while(Date.now()<end){for(var k=0;k<500;k++,n++){if(zeros(first(token+n))>=need){form.nonce.value=String(n);document.getElementById("status").textContent="Done. Taking you to {{DOMAIN}}…";form.submit();return;}}}setTimeout(work,0);}
        work();
        })();
        </script></body></html>
        """
}
