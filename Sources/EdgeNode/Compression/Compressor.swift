import CBrotli
import CZlib
import HTTPCache
import NIOCore

/// Streaming gzip (zlib) or Brotli compression of a response body, chunk by chunk, so the edge
/// compresses without holding a body in memory.
final class Compressor: @unchecked Sendable {
    enum Encoding: String, Sendable { case gzip, br }

    let encoding: Encoding
    private var zstream = z_stream()
    private var brotli: OpaquePointer?
    private var finished = false

    init(_ encoding: Encoding) {
        self.encoding = encoding
        switch encoding {
        case .gzip:
            // windowBits 15 + 16: a gzip wrapper; level 5 is most of level 9's ratio at a third of its CPU.
            deflateInit2_(&zstream, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        case .br:
            brotli = BrotliEncoderCreateInstance(nil, nil, nil)
            // Quality 4 and a 4 MiB window: fast enough for on-the-fly compression of misses.
            BrotliEncoderSetParameter(brotli, BROTLI_PARAM_QUALITY, 4)
            BrotliEncoderSetParameter(brotli, BROTLI_PARAM_LGWIN, 22)
        }
    }

    deinit {
        switch encoding {
        case .gzip: deflateEnd(&zstream)
        case .br: BrotliEncoderDestroyInstance(brotli)
        }
    }

    /// Compresses a chunk; `finish` ends the stream. The result may be empty until enough input arrived.
    func compress(_ input: ByteBuffer, finish: Bool = false) -> ByteBuffer {
        var output = ByteBuffer()
        guard !finished else { return output }
        finished = finish
        var input = input
        input.withUnsafeMutableReadableBytes { raw in
            switch encoding {
            case .gzip: deflate(raw, finish: finish, into: &output)
            case .br: brotliCompress(raw, finish: finish, into: &output)
            }
        }
        return output
    }

    /// The whole body at once (a cached object).
    static func compress(_ body: ByteBuffer, as encoding: Encoding) -> ByteBuffer {
        Compressor(encoding).compress(body, finish: true)
    }

    private func deflate(_ input: UnsafeMutableRawBufferPointer, finish: Bool, into output: inout ByteBuffer) {
        zstream.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        zstream.avail_in = UInt32(input.count)
        let chunk = 16_384
        while true {
            output.reserveCapacity(minimumWritableBytes: chunk)
            let (written, result) = output.withUnsafeMutableWritableBytes { raw -> (Int, Int32) in
                zstream.next_out = raw.baseAddress!.assumingMemoryBound(to: Bytef.self)
                zstream.avail_out = UInt32(chunk)
                let result = CZlib.deflate(&zstream, finish ? Z_FINISH : Z_NO_FLUSH)
                return (chunk - Int(zstream.avail_out), result)
            }
            output.moveWriterIndex(forwardBy: written)
            if result == Z_STREAM_END || result == Z_STREAM_ERROR { return }
            // Not finishing: done once the input is consumed and zlib had room to spare.
            if !finish && zstream.avail_in == 0 && zstream.avail_out != 0 { return }
        }
    }

    private func brotliCompress(_ input: UnsafeMutableRawBufferPointer, finish: Bool, into output: inout ByteBuffer) {
        var availableIn = input.count
        var nextIn = UnsafePointer(input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        let operation = finish ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS
        while true {
            var availableOut = 0
            var nextOut: UnsafeMutablePointer<UInt8>? = nil
            guard BrotliEncoderCompressStream(brotli, operation, &availableIn, &nextIn, &availableOut, &nextOut, nil) == BROTLI_TRUE else {
                return
            }
            var size = 0
            if let produced = BrotliEncoderTakeOutput(brotli, &size), size > 0 {
                output.writeBytes(UnsafeRawBufferPointer(start: produced, count: size))
            }
            let done = finish ? BrotliEncoderIsFinished(brotli) == BROTLI_TRUE : availableIn == 0
            if done && BrotliEncoderHasMoreOutput(brotli) != BROTLI_TRUE { return }
        }
    }
}

/// Which responses the edge compresses and how.
enum Compression {
    /// Types worth compressing: text and the structured formats served as application/*.
    static func isCompressible(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = String(contentType.prefix { $0 != ";" }.drop { $0 == " " }).lowercased()
        if type.hasPrefix("text/") { return true }
        return [
            "application/json", "application/javascript", "application/x-javascript", "application/xml", "application/xhtml+xml",
            "application/rss+xml", "application/atom+xml", "application/ld+json", "application/manifest+json", "application/wasm",
            "image/svg+xml", "image/x-icon", "font/ttf", "font/otf", "application/vnd.ms-fontobject",
        ].contains(type) || type.hasSuffix("+json") || type.hasSuffix("+xml")
    }

    /// The client's preferred encoding we offer: Brotli, then gzip; nil for identity. Honours q=0.
    static func negotiate(acceptEncoding: String?) -> Compressor.Encoding? {
        ContentCoding.negotiate(acceptEncoding: acceptEncoding).flatMap { Compressor.Encoding(rawValue: $0.rawValue) }
    }

    /// Smaller bodies gain nothing from compression.
    static let minimumBytes = 256
}
