import Foundation
import ImageKit

/// The demo origin's `/sample.jpg`: a generated landscape (sky, sun, ridges, a lake with
/// ripples, grain) encoded as a JPEG (quality 85) by libvips, so the image capability has a real
/// photo-sized input without shipping a binary.
enum SamplePhoto {
    static let width = 2400
    static let height = 1600

    /// The JPEG, or nil when libvips cannot encode it.
    static func make() -> [UInt8]? {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        rgb.withUnsafeMutableBufferPointer { pixels in
            for y in 0..<height {
                for x in 0..<width {
                    let (r, g, b) = color(x: Double(x) / Double(width), y: Double(y) / Double(height), grain: grain(x, y))
                    let index = (y * width + x) * 3
                    pixels[index] = r
                    pixels[index + 1] = g
                    pixels[index + 2] = b
                }
            }
        }
        return ImageTransformer.encode(rgb: rgb, width: width, height: height, as: .jpeg, quality: 85)
    }

    /// Deterministic film grain in -1…1.
    static func grain(_ x: Int, _ y: Int) -> Double {
        var hash = UInt32(truncatingIfNeeded: x &* 374_761_393 &+ y &* 668_265_263)
        hash = (hash ^ (hash >> 13)) &* 1_274_126_177
        return Double(hash & 0xFFFF) / 32_768 - 1
    }

    static func color(x: Double, y: Double, grain: Double) -> (UInt8, UInt8, UInt8) {
        let horizon = 0.62
        var r: Double
        var g: Double
        var b: Double
        func ridge(_ x: Double, _ base: Double, _ scale: Double, _ phase: Double) -> Double {
            base - scale * (0.5 * sin(x * 9 + phase) + 0.3 * sin(x * 23 + phase * 2) + 0.2 * sin(x * 57 + phase * 3))
        }
        let sky = { (y: Double) -> (Double, Double, Double) in
            let t = y / horizon
            return (40 + 215 * t * t, 90 + 120 * t, 170 + 40 * t)
        }
        if y < horizon {
            (r, g, b) = sky(y)
            // The sun and its glow.
            let dx = x - 0.68
            let dy = (y - 0.42) * Double(SamplePhoto.height) / Double(SamplePhoto.width)
            let distance = (dx * dx + dy * dy).squareRoot()
            let glow = max(0, 1 - distance / 0.35)
            r += 120 * glow * glow
            g += 80 * glow * glow
            b += 20 * glow * glow
            if distance < 0.045 { (r, g, b) = (255, 244, 214) }
            // Two ridges, the nearer darker.
            if y > ridge(x, 0.5, 0.08, 1) { (r, g, b) = (95 + 30 * y, 90 + 20 * y, 120) }
            if y > ridge(x, 0.58, 0.06, 4) { (r, g, b) = (40 + 40 * x, 70 + 30 * y, 55) }
        } else {
            // The lake reflects the sky with ripples that grow towards the viewer.
            let depth = (y - horizon) / (1 - horizon)
            let ripple = sin(y * 900 * (0.3 + depth)) * 0.01 * depth
            (r, g, b) = sky(max(0, 2 * horizon - y + ripple))
            r *= 0.75
            g *= 0.8
            b *= 0.9
            let dx = x - 0.68 + ripple * 4
            if abs(dx) < 0.05 * (1 - depth) + 0.01 { r += 70; g += 55; b += 25 }
        }
        let noise = grain * 6
        func clamp(_ value: Double) -> UInt8 { UInt8(max(0, min(255, value + noise))) }
        return (clamp(r), clamp(g), clamp(b))
    }
}
