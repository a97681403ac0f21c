import CVips
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Resizes and re-encodes images with libvips on the thumbnail path: shrink-on-load (a JPEG is
/// decoded at the smallest scale that still covers the target), EXIF auto-rotation, sequential
/// access, metadata stripped. The source bytes are handed to libvips in place and never copied;
/// the size is checked from the header before anything is decoded. At most `concurrency`
/// transforms run at once, on NIO's blocking thread pool, so event loops never wait on libvips.
public final class ImageTransformer: Sendable {
    public struct Limits: Sendable {
        /// Sources with more pixels are refused before decoding (pixel bombs).
        public var maxPixels = 50_000_000
        public var concurrency = max(1, System.coreCount)
        public init() {}
    }

    /// What the header says about a source.
    public struct Probe: Sendable, Equatable {
        public let loader: String
        public let width: Int
        public let height: Int
        public let hasAlpha: Bool
    }

    public struct Output: Sendable {
        public let body: ByteBuffer
        public let format: ImageOptions.Format
        public let width: Int
        public let height: Int

        public var contentType: String { "image/" + format.rawValue }
    }

    /// Decoders allowed on untrusted bytes, by the format in libvips' loader class name
    /// ("VipsForeignLoadJpegBuffer"); everything else (SVG, PDF, raw matrices…) is 415.
    static let formats = ["jpeg", "png", "webp", "gif", "heif", "tiff"]

    static func allowed(loader: String) -> Bool {
        let name = loader.lowercased()
        return formats.contains { name.contains($0) }
    }

    public let limits: Limits
    private let gate: Gate
    private let pool: NIOThreadPool

    private static let started: Bool = dcdn_vips_start() == 0

    public init(limits: Limits = .init(), pool: NIOThreadPool = .singleton) {
        self.limits = limits
        self.pool = pool
        gate = Gate(limit: limits.concurrency)
        _ = Self.started
    }

    /// Reads the header only.
    public func probe(_ source: ByteBuffer) throws(ImageError) -> Probe {
        guard Self.started else { throw ImageError(status: 503, code: .imagesUnavailable, detail: "libvips could not start") }
        let result: Result<Probe, ImageError> = source.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return .failure(Self.unsupported) }
            guard let name = dcdn_vips_loader(base, raw.count).map({ String(cString: $0) }), Self.allowed(loader: name) else {
                Self.clearError()
                return .failure(Self.unsupported)
            }
            guard let image = dcdn_vips_header(base, raw.count) else { return .failure(Self.undecodable()) }
            defer { g_object_unref(image) }
            return .success(
                Probe(
                    loader: name, width: Int(vips_image_get_width(image)), height: Int(vips_image_get_height(image)),
                    hasAlpha: vips_image_hasalpha(image) != 0))
        }
        return try result.get()
    }

    /// The source resized and encoded as `options` ask, for a client that accepts `accept`.
    public func transform(_ source: ByteBuffer, options: ImageOptions, accept: String?) async throws(ImageError) -> Output {
        let probe = try probe(source)
        let pixels = probe.width * probe.height
        guard pixels <= limits.maxPixels else {
            throw ImageError(
                status: 422, code: .imageTooLarge,
                detail:
                    "the source is \(probe.width)×\(probe.height) pixels; at most \(limits.maxPixels / 1_000_000) megapixels are processed")
        }
        let format = options.outputFormat(accept: accept, sourceHasAlpha: probe.hasAlpha)
        await gate.enter()
        defer { gate.leave() }
        let result: Result<Output, ImageError>
        do {
            result = try await pool.runIfActive { Self.render(source, options: options, format: format) }
        } catch {
            result = .failure(ImageError(status: 503, code: .imagesUnavailable, detail: "the image workers are shutting down"))
        }
        return try result.get()
    }

    private static func render(_ source: ByteBuffer, options: ImageOptions, format: ImageOptions.Format) -> Result<Output, ImageError> {
        source.withUnsafeReadableBytes { raw in
            let unbounded: Int32 = 10_000_000  // VIPS_MAX_COORD: "no limit on this side"
            let (crop, size) = geometry(options)
            guard
                let thumbnail = dcdn_vips_thumbnail(
                    raw.baseAddress, raw.count, options.width.map(Int32.init) ?? unbounded, options.height.map(Int32.init) ?? unbounded,
                    Int32(crop.rawValue), Int32(size.rawValue))
            else { return .failure(undecodable()) }
            var image = thumbnail
            defer { g_object_unref(image) }
            if format == .jpeg, vips_image_hasalpha(image) != 0 {
                guard let flat = dcdn_vips_flatten_white(image) else { return .failure(undecodable()) }
                g_object_unref(image)
                image = flat
            }
            var data: UnsafeMutableRawPointer?
            var length = 0
            guard dcdn_vips_save(image, Self.code(format), Int32(options.quality), &data, &length) == 0, let data else {
                return .failure(
                    ImageError(status: 422, code: .encodeFailed, detail: "the image could not be encoded as \(format.rawValue)"))
            }
            defer { g_free(data) }
            var body = ByteBuffer()
            body.writeBytes(UnsafeRawBufferPointer(start: data, count: length))
            return .success(
                Output(body: body, format: format, width: Int(vips_image_get_width(image)), height: Int(vips_image_get_height(image))))
        }
    }

    /// libvips' crop and size modes for a fit (documented on `ImageOptions.Fit`).
    static func geometry(_ options: ImageOptions) -> (VipsInteresting, VipsSize) {
        let both = options.width != nil && options.height != nil
        // Without a size the image keeps its own (both sides "unbounded" must not mean "enlarge").
        if options.width == nil, options.height == nil { return (VIPS_INTERESTING_NONE, VIPS_SIZE_DOWN) }
        switch options.fit {
        case .cover: return (both ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE, VIPS_SIZE_BOTH)
        case .contain: return (VIPS_INTERESTING_NONE, VIPS_SIZE_BOTH)
        case .fill: return (VIPS_INTERESTING_NONE, both ? VIPS_SIZE_FORCE : VIPS_SIZE_BOTH)
        case .inside: return (VIPS_INTERESTING_NONE, VIPS_SIZE_DOWN)
        }
    }

    static let unsupported = ImageError(
        status: 415, code: .unsupportedImage, detail: "the source is not a JPEG, PNG, WebP, GIF, AVIF/HEIF or TIFF image")

    static func undecodable() -> ImageError {
        clearError()
        return ImageError(status: 422, code: .undecodableImage, detail: "the source image could not be decoded")
    }

    private static func clearError() {
        var message = [CChar](repeating: 0, count: 256)
        dcdn_vips_take_error(&message, message.count)
    }
}

/// An async counting semaphore: at most `limit` holders, the rest wait in order.
final class Gate: Sendable {
    private let state: Mutex<(available: Int, waiting: [CheckedContinuation<Void, Never>])>

    init(limit: Int) {
        state = Mutex((limit, []))
    }

    func enter() async {
        await withCheckedContinuation { continuation in
            let admitted = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

extension ImageTransformer {
    /// The shim's number for a format (`dcdn_vips_save`).
    static func code(_ format: ImageOptions.Format) -> Int32 {
        switch format {
        case .jpeg, .auto: 0
        case .webp: 1
        case .avif: 2
        case .png: 3
        }
    }

    /// Encodes packed 8-bit RGB pixels (row-major, `width` × `height` × 3 bytes) with libvips in
    /// `format` at `quality` (1…100); nil when libvips fails. For images DCDN makes itself (the
    /// demo site's photo), not for visitors' requests: it runs on the calling thread.
    public static func encode(rgb: [UInt8], width: Int, height: Int, as format: ImageOptions.Format, quality: Int) -> [UInt8]? {
        guard started, rgb.count == width * height * 3 else { return nil }
        return rgb.withUnsafeBytes { pixels -> [UInt8]? in
            guard let image = dcdn_vips_from_rgb(pixels.baseAddress, Int32(width), Int32(height)) else { return nil }
            defer { g_object_unref(image) }
            var data: UnsafeMutableRawPointer?
            var length = 0
            guard dcdn_vips_save(image, Self.code(format), Int32(quality), &data, &length) == 0, let data else { return nil }
            defer { g_free(data) }
            return [UInt8](UnsafeRawBufferPointer(start: data, count: length))
        }
    }
}
