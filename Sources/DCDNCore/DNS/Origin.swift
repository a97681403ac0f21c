import Foundation

/// A domain's origin: an IP address or host name with an optional port.
public struct Origin: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int?

    public init?(_ raw: String) {
        var text = raw.trimmingCharacters(in: .whitespaces).lowercased()
        for scheme in ["http://", "https://"] where text.hasPrefix(scheme) { text.removeFirst(scheme.count) }
        if text.hasSuffix("/") { text.removeLast() }
        var port: Int?
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = Int(rest.dropFirst()), (1...65535).contains(value) else { return nil }
                port = value
            } else if !rest.isEmpty {
                return nil
            }
            text = String(text[text.index(after: text.startIndex)..<close])
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.lastIndex(of: ":") {
            guard let value = Int(text[text.index(after: colon)...]), (1...65535).contains(value) else { return nil }
            port = value
            text = String(text[..<colon])
        }
        if let ip = IPAddress(text) {
            host = ip.description
        } else if let name = DNSRecordContent.hostname(text), name.contains(".") {
            host = name
        } else {
            return nil
        }
        self.port = port
    }

    public var isIP: Bool { IPAddress(host) != nil }
    public var isIPv4: Bool { IPAddress(host)?.isIPv4 == true }
    public var description: String {
        guard let port else { return host }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
