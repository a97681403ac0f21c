import AsyncHTTPClient
import DCDNCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Fetches source images without becoming a way into the operator's network (SSRF): the host is
/// resolved here, every address it has must be public, and the connection is pinned to the
/// address that was checked (no second lookup an attacker's DNS could answer differently).
/// Redirects are followed by hand, at most three, each one checked the same way. The body is
/// streamed into one buffer and refused the moment it passes the size cap.
public struct SourceFetcher: Sendable {
    public struct Policy: Sendable {
        public var maxBytes = 20 * 1024 * 1024
        public var maxRedirects = 3
        public var connectTimeout: TimeAmount = .seconds(5)
        /// For the whole exchange, body included.
        public var timeout: TimeAmount = .seconds(20)
        /// Named sources the operator allows to be private, each pinned to `address[:port]`
        /// (off by default; `dcdn dev` pins its demo site to the local edge).
        public var privateSources: [String: String] = [:]
        public init(privateSources: [String: String] = [:]) {
            self.privateSources = privateSources
        }
    }

    /// A fetched source.
    public struct Source: Sendable {
        public let url: URL
        public let body: ByteBuffer
        /// Decides how long the source cache may keep it.
        public let cacheControl: String?
    }

    public let policy: Policy
    let group: any EventLoopGroup

    public init(policy: Policy = .init(), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.policy = policy
        self.group = group
    }

    public func fetch(_ url: URL) async throws(ImageError) -> Source {
        var current = url
        var redirects = 0
        let deadline = NIODeadline.now() + policy.timeout
        while true {
            let target = try await pin(current)
            switch try await get(current, at: target, deadline: deadline) {
            case .source(let source):
                return source
            case .redirect(let location):
                redirects += 1
                guard redirects <= policy.maxRedirects else {
                    throw .badSource("the source redirected more than \(policy.maxRedirects) times")
                }
                guard let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                    throw .badSource("the source redirected to an invalid location")
                }
                do {
                    current = try ImageOptions.source(next.absoluteString)
                } catch {
                    throw .forbiddenSource("the source redirected to a URL that is not allowed (\(error.detail))")
                }
            }
        }
    }

    /// Where to connect for a URL: a checked public address (or an allowed private source's pin).
    struct Pin: Equatable {
        let address: String
        let port: Int
    }

    func pin(_ url: URL) async throws(ImageError) -> Pin {
        let host = Self.host(of: url)
        let defaultPort = url.scheme?.lowercased() == "https" ? 443 : 80
        if let pinned = policy.privateSources[host] {
            let parts = Self.splitHostPort(pinned)
            return Pin(address: parts.host, port: parts.port ?? url.port ?? defaultPort)
        }
        let port = url.port ?? defaultPort
        guard (1...65535).contains(port) else { throw .forbiddenSource("the port is out of range") }
        let addresses: [IPAddress]
        if let literal = IPAddress(host) {
            addresses = [literal]
        } else {
            addresses = try await Self.resolve(host)
        }
        guard let first = addresses.first else { throw .badSource("the source host \(host) does not resolve") }
        if let blocked = addresses.first(where: \.isInternal) {
            throw .forbiddenSource("\(host) resolves to \(blocked), which is not a public address")
        }
        return Pin(address: first.description, port: port)
    }

    enum Answer {
        case source(Source)
        case redirect(String)
    }

    private func get(_ url: URL, at pin: Pin, deadline: NIODeadline) async throws(ImageError) -> Answer {
        let host = Self.host(of: url)
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: policy.connectTimeout, read: policy.timeout)
        configuration.decompression = .disabled
        // The name stays in the URL (Host header, SNI, certificate check); the socket goes to the pin.
        configuration.dnsOverride = [host: pin.address]
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        let answer = await get(url, at: pin, through: client, deadline: deadline)
        try? await client.shutdown()
        return try answer.get()
    }

    private func get(_ url: URL, at pin: Pin, through client: HTTPClient, deadline: NIODeadline) async -> Result<Answer, ImageError> {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        components?.port = pin.port == (url.scheme?.lowercased() == "https" ? 443 : 80) ? nil : pin.port
        components?.fragment = nil
        guard let requestURL = components?.url?.absoluteString else { return .failure(.parameter("url", "is not a valid URL")) }
        var request = HTTPClientRequest(url: requestURL)
        request.headers.add(name: "Accept", value: "image/*")
        request.headers.add(name: "User-Agent", value: "DCDN-Image-Optimizer/1")
        do {
            let response = try await client.execute(request, deadline: deadline)
            let status = Int(response.status.code)
            if (300..<400).contains(status), status != 304, let location = response.headers.first(name: "Location") {
                return .success(.redirect(location))
            }
            guard status == 200 else { throw ImageError.badSource("the source answered \(status)") }
            if let declared = response.headers.first(name: "Content-Length").flatMap(Int.init), declared > policy.maxBytes {
                throw Self.tooLarge(policy.maxBytes)
            }
            var body = ByteBuffer()
            for try await chunk in response.body {
                guard body.readableBytes + chunk.readableBytes <= policy.maxBytes else { throw Self.tooLarge(policy.maxBytes) }
                var chunk = chunk
                body.writeBuffer(&chunk)
            }
            return .success(
                .source(
                    Source(url: url, body: body, cacheControl: response.headers.first(name: "Cache-Control"))))
        } catch let error as ImageError {
            return .failure(error)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .failure(ImageError(status: 504, code: .sourceTimeout, detail: "the source did not answer in time"))
        } catch {
            return .failure(.badSource("the source could not be fetched (\(error))"))
        }
    }

    static func tooLarge(_ limit: Int) -> ImageError {
        ImageError(status: 413, code: .sourceTooLarge, detail: "the source is larger than \(limit / 1024 / 1024) MB")
    }

    static func host(of url: URL) -> String {
        var host = (url.host(percentEncoded: false) ?? "").lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }

    static func splitHostPort(_ text: String) -> (host: String, port: Int?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        let parts = text.split(separator: ":")
        if parts.count == 2, let port = Int(parts[1]) { return (String(parts[0]), port) }
        return (text, nil)
    }

    /// Every address of a name, through the system resolver.
    static func resolve(_ host: String) async throws(ImageError) -> [IPAddress] {
        let addresses = await HostResolver.addresses(of: host)
        guard !addresses.isEmpty else { throw .badSource("the source host \(host) does not resolve") }
        return addresses
    }
}
