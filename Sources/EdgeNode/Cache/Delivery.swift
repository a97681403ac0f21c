import AsyncHTTPClient
import Foundation
import HTTPCache
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat
import Synchronization

/// A response on its way to the visitor, from the cache or the origin.
struct Delivery: Sendable {
    enum Source: Sendable {
        case buffer(ByteBuffer)
        case file(String, length: Int)
        case stream(HTTPClientResponse.Body)
    }

    var status: Int
    var fields: HTTPFields
    var source: Source
    /// Collects a streamed body for the cache.
    var writer: CacheWriter?
    /// Runs once the stream ends: true when the whole body arrived.
    var onEnd: (@Sendable (Bool) -> Void)?
    /// The fields carry Via and the security headers already (stored responses).
    var decorated = false
}

extension EdgeCache {
    /// Turns a delivery into the visitor's response: conditional requests answered with 304,
    /// a single byte range with 206 (or 416), compression negotiated, HEAD without a body,
    /// and Cache-Status, Via and the security headers added.
    func deliver(
        _ delivery: Delivery, exchange: Exchange, cacheStatus: String, hit: Bool, entryID: String? = nil
    ) -> Response {
        switch prepare(delivery, exchange: exchange, cacheStatus: cacheStatus, hit: hit, entryID: entryID) {
        case .buffered(let status, let fields, let body):
            Response(status: status, headers: fields, body: body.map { ResponseBody(byteBuffer: $0) } ?? ResponseBody())
        case .streamed(let status, let fields, let body):
            Response(status: status, headers: fields, body: body)
        }
    }

    /// A response ready to write: whole (the cache's memory bodies, the edge's own answers) or
    /// streamed (origin and disk bodies).
    enum Prepared {
        /// A nil body: none to send (HEAD, 304, 416).
        case buffered(HTTPResponse.Status, HTTPFields, ByteBuffer?)
        case streamed(HTTPResponse.Status, HTTPFields, ResponseBody)
    }

    /// Via and the product guide's security headers (keeping an origin's own CSP).
    static func decorate(_ fields: inout HTTPFields) {
        fields.append(HTTPField(name: .via, value: "1.1 \(OriginFetcher.loopToken)"))
        EdgePages.addSecurityHeaders(&fields)
    }

    func prepare(
        _ delivery: Delivery, exchange: Exchange, cacheStatus: String, hit: Bool, entryID: String? = nil
    ) -> Prepared {
        let request = exchange.headers
        var fields = delivery.fields
        fields[.cacheStatus] = "DCDN; " + cacheStatus
        if !delivery.decorated { Self.decorate(&fields) }
        let domain = exchange.route.domain
        var status = delivery.status
        let totalLength: Int? =
            switch delivery.source {
            case .buffer(let buffer): buffer.readableBytes
            case .file(_, let length): length
            case .stream: fields[.contentLength].flatMap(Int.init)
            }

        // Conditional GET/HEAD against what the edge serves (RFC 9110 §13).
        if hit, (200..<300).contains(status), Self.notModified(request: request, fields: fields) {
            for name in [HTTPField.Name.contentLength, .contentType, .contentEncoding] { fields[name] = nil }
            state.count(domain, status: 304, bytes: 0, hit: true)
            return .buffered(.notModified, fields, nil)
        }

        var range: ClosedRange<Int>?
        if status == 200, exchange.method == .get, fields[.contentEncoding] == nil, let total = totalLength,
            let header = request[.range], Self.ifRangeHolds(request: request, fields: fields)
        {
            switch ByteRange.parse(header, length: total) {
            case .satisfiable(let bytes):
                range = bytes
                status = 206
                fields[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(total)"
                fields[.contentLength] = String(bytes.count)
            case .unsatisfiable:
                delivery.writer?.abandon()
                var headers: HTTPFields = [.contentRange: "bytes */\(total)", .contentLength: "0"]
                headers[.cacheStatus] = fields[.cacheStatus]
                EdgePages.addSecurityHeaders(&headers)
                state.count(domain, status: 416, bytes: 0, hit: hit)
                delivery.onEnd?(false)
                return .buffered(.rangeNotSatisfiable, headers, nil)
            case .ignored:
                break
            }
        }
        if fields[.acceptRanges] == nil, status == 200, totalLength != nil { fields[.acceptRanges] = "bytes" }

        // Compression: only what the origin left uncompressed, is worth it, and may be transformed.
        var encoding: Compressor.Encoding?
        if range == nil, status == 200, fields[.contentEncoding] == nil, (totalLength ?? Int.max) >= Compression.minimumBytes,
            Compression.isCompressible(contentType: fields[.contentType]), !CacheControl(fields[values: .cacheControl]).noTransform
        {
            let varies = fields[values: .vary].contains { $0.lowercased().contains("accept-encoding") }
            if !varies { fields.append(HTTPField(name: .vary, value: "Accept-Encoding")) }
            encoding = Compression.negotiate(acceptEncoding: request[.acceptEncoding])
            if let encoding {
                fields[.contentEncoding] = encoding.rawValue
                fields[.contentLength] = nil
                if let etag = fields[.eTag], !etag.hasPrefix("W/") { fields[.eTag] = "W/" + etag }
            }
        }

        let isHead = exchange.isHead
        let state = self.state
        let (sliceRange, contentEncoding, code) = (range, encoding, status)
        switch delivery.source {
        case .buffer(let buffer):
            var body = buffer
            if let sliceRange { body = buffer.getSlice(at: buffer.readerIndex + sliceRange.lowerBound, length: sliceRange.count) ?? buffer }
            if let contentEncoding, let entryID {
                body = compressed.body(for: entryID, encoding: contentEncoding) { Compressor.compress(buffer, as: contentEncoding) }
            } else if let contentEncoding {
                body = Compressor.compress(body, as: contentEncoding)
            }
            fields[.contentLength] = String(body.readableBytes)
            state.count(domain, status: code, bytes: isHead ? 0 : body.readableBytes, hit: hit)
            return .buffered(.init(code: code), fields, isHead ? nil : body)
        case .file(let path, _):
            if contentEncoding == nil, fields[.contentLength] == nil, let totalLength { fields[.contentLength] = String(totalLength) }
            if isHead {
                state.count(domain, status: code, bytes: 0, hit: hit)
                return .buffered(.init(code: code), fields, nil)
            }
            let body = ResponseBody { writer in
                let sent = try await Self.writeFile(path, range: sliceRange, encoding: contentEncoding, to: &writer)
                state.count(domain, status: code, bytes: sent, hit: hit)
                try await writer.finish(nil)
            }
            return .streamed(.init(code: code), fields, body)
        case .stream(let stream):
            let (writer, onEnd) = (delivery.writer, delivery.onEnd)
            if isHead {
                state.count(domain, status: code, bytes: 0, hit: hit)
                onEnd?(false)
                return .buffered(.init(code: code), fields, nil)
            }
            let body = ResponseBody { responseWriter in
                let compressor = contentEncoding.map(Compressor.init)
                var position = 0
                var sent = 0
                do {
                    for try await chunk in stream {
                        writer?.append(chunk)
                        var out = chunk
                        if let sliceRange {
                            let start = max(sliceRange.lowerBound - position, 0)
                            let end = min(sliceRange.upperBound + 1 - position, chunk.readableBytes)
                            out = start < end ? chunk.getSlice(at: chunk.readerIndex + start, length: end - start)! : ByteBuffer()
                        }
                        position += chunk.readableBytes
                        if let compressor { out = compressor.compress(out) }
                        if out.readableBytes > 0 {
                            sent += out.readableBytes
                            try await responseWriter.write(out)
                        }
                    }
                    if let compressor {
                        let tail = compressor.compress(ByteBuffer(), finish: true)
                        sent += tail.readableBytes
                        try await responseWriter.write(tail)
                    }
                } catch {
                    state.count(domain, status: code, bytes: sent, hit: hit)
                    onEnd?(false)
                    throw error
                }
                state.count(domain, status: code, bytes: sent, hit: hit)
                onEnd?(true)
                try await responseWriter.finish(nil)
            }
            return .streamed(.init(code: code), fields, body)
        }
    }

    private static func writeFile(
        _ path: String, range: ClosedRange<Int>?, encoding: Compressor.Encoding?, to writer: inout any ResponseBodyWriter
    ) async throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        var remaining = Int.max
        if let range {
            try handle.seek(toOffset: UInt64(range.lowerBound))
            remaining = range.count
        }
        let compressor = encoding.map(Compressor.init)
        var sent = 0
        while remaining > 0 {
            guard let data = try handle.read(upToCount: min(256 << 10, remaining)), !data.isEmpty else { break }
            remaining -= data.count
            var out = ByteBuffer(data: data)
            if let compressor { out = compressor.compress(out) }
            sent += out.readableBytes
            if out.readableBytes > 0 { try await writer.write(out) }
        }
        if let compressor {
            let tail = compressor.compress(ByteBuffer(), finish: true)
            sent += tail.readableBytes
            try await writer.write(tail)
        }
        return sent
    }

    /// If-None-Match (weak comparison), else If-Modified-Since.
    static func notModified(request: HTTPFields, fields: HTTPFields) -> Bool {
        if let ifNoneMatch = request[.ifNoneMatch] {
            guard let etag = fields[.eTag] else { return false }
            let bare = { (tag: Substring) in tag.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "") }
            let current = bare(Substring(etag))
            return ifNoneMatch.split(separator: ",").contains { bare($0) == current || bare($0) == "*" }
        }
        if let since = request[.ifModifiedSince].flatMap(HTTPDate.parse), let modified = fields[.lastModified].flatMap(HTTPDate.parse) {
            return modified <= since
        }
        return false
    }

    /// If-Range: the range applies only while the representation is the one the client has.
    static func ifRangeHolds(request: HTTPFields, fields: HTTPFields) -> Bool {
        guard let ifRange = request[.ifRange] else { return true }
        if ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/") { return fields[.eTag] == ifRange && !ifRange.hasPrefix("W/") }
        return fields[.lastModified] == ifRange
    }
}

/// A single byte range of a Range field (RFC 9110 §14.1.2); several ranges are answered with
/// the whole representation, which the RFC allows.
enum ByteRange: Equatable {
    case satisfiable(ClosedRange<Int>)
    case unsatisfiable
    case ignored

    static func parse(_ header: String, length: Int) -> ByteRange {
        let value = header.trimmingCharacters(in: .whitespaces)
        guard value.lowercased().hasPrefix("bytes="), !value.contains(",") else { return .ignored }
        let spec = value.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard let dash = spec.firstIndex(of: "-") else { return .ignored }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int(last), suffix >= 0 else { return .ignored }
            guard suffix > 0, length > 0 else { return .unsatisfiable }
            return .satisfiable(max(0, length - suffix)...(length - 1))
        }
        guard let start = Int(first), start >= 0 else { return .ignored }
        let end = last.isEmpty ? length - 1 : (Int(last) ?? -1)
        guard last.isEmpty || end >= start else { return .ignored }
        guard start < length else { return .unsatisfiable }
        return .satisfiable(start...min(end, length - 1))
    }
}

/// Compressed copies of stored bodies, so a hit is compressed once, not per request.
final class CompressedVariants: Sendable {
    private let cache: Mutex<LRU>
    let limit: Int

    init(limit: Int = 64 << 20) {
        self.limit = limit
        cache = Mutex(LRU())
    }

    func body(for entryID: String, encoding: Compressor.Encoding, make: () -> ByteBuffer) -> ByteBuffer {
        let id = entryID + "\u{0}" + encoding.rawValue
        if let body = cache.withLock({ $0.get(id) }) { return body }
        let body = make()
        cache.withLock { $0.put(id, body, limit: limit) }
        return body
    }
}
