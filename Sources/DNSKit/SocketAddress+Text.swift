import NIOCore

extension SocketAddress {
    /// "192.0.2.1:53", "[2001:db8::1]:53", or a bare address with `defaultPort`.
    public init(dnsServer text: String, defaultPort: Int? = 53) throws {
        var host = text
        var port = defaultPort
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") { port = Int(rest.dropFirst()) }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            port = Int(text[text.index(after: colon)...])
        }
        guard let port, (1...65535).contains(port) else { throw DNSWireError("\(text) is not address:port") }
        try self.init(ipAddress: host, port: port)
    }
}
