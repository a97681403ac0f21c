/// What a nameserver reads: its `dns.*` section (`DCDN_DNS_*`, `{"dns": {…}}`).
public struct NameServerSettings: Sendable {
    /// UDP and TCP port.
    public var port: Int
    /// TSIG key for zone transfers, `name:base64secret`; transfers are refused without one.
    public var transferKey: String?
    /// `ip:port` of secondaries to NOTIFY when a zone changes.
    public var notify: [String]

    public init(_ settings: SettingsReader, dev: Bool) throws {
        let dns = settings.scoped(to: "dns")
        port = try dns.int("port", dev ? 5353 : 53, 0...65535)
        transferKey = dns.string("transfer_key", secret: true)
        notify = dns.list("notify")
    }
}
