import Foundation

/// The demo origin's `/sample.jpg`: a generated landscape (sky, sun, ridges, a lake with
/// ripples, grain) encoded as a baseline JFIF JPEG (4:2:0, quality 85) by the small encoder
/// below, so the image capability has a real photo-sized input without shipping a binary.
enum SamplePhoto {
    static let width = 2400
    static let height = 1600

    static func make() -> [UInt8] {
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
        return JPEGEncoder(width: width, height: height, rgb: rgb, quality: 85).encode()
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

/// A baseline JPEG encoder (ITU T.81): YCbCr 4:2:0, the standard quantisation tables scaled
/// for `quality` and the standard Huffman tables of Annex K.
struct JPEGEncoder {
    let width: Int
    let height: Int
    let rgb: [UInt8]
    let quality: Int

    static let zigzag = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42,
        49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]
    static let luminance = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112,
        100, 103, 99,
    ]
    static let chrominance =
        [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99]
        + [Int](repeating: 99, count: 32)

    struct HuffmanTable {
        let bits: [UInt8]
        let values: [UInt8]
        var codes = [(code: UInt32, length: Int)](repeating: (0, 0), count: 256)

        init(bits: [UInt8], values: [UInt8]) {
            self.bits = bits
            self.values = values
            var code: UInt32 = 0
            var index = 0
            for length in 1...16 {
                for _ in 0..<Int(bits[length - 1]) {
                    codes[Int(values[index])] = (code, length)
                    code += 1
                    index += 1
                }
                code <<= 1
            }
        }
    }

    static let dcLuminance = HuffmanTable(bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: Array(0...11))
    static let dcChrominance = HuffmanTable(bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: Array(0...11))
    static let acLuminance = HuffmanTable(
        bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
        values: [
            0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81,
            0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18,
            0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
            0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
            0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
            0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
            0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5,
            0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
        ])
    static let acChrominance = HuffmanTable(
        bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
        values: [
            0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08,
            0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25,
            0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47,
            0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74,
            0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
            0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
            0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4,
            0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
        ])

    /// cos((2x+1)uπ/16) · C(u)/2, so a block's DCT is two passes of 8×8 multiply-adds.
    static let cosines: [Double] = (0..<64).map { index in
        let (u, x) = (index / 8, index % 8)
        return (u == 0 ? 1 / 2.squareRoot() : 1) / 2 * cos(Double(2 * x + 1) * Double(u) * .pi / 16)
    }

    static func scaled(_ table: [Int], quality: Int) -> [Int] {
        let scale = quality < 50 ? 5000 / quality : 200 - 2 * quality
        return table.map { max(1, min(255, ($0 * scale + 50) / 100)) }
    }

    func encode() -> [UInt8] {
        let luma = Self.scaled(Self.luminance, quality: quality)
        let chroma = Self.scaled(Self.chrominance, quality: quality)
        var out: [UInt8] = [0xFF, 0xD8]
        func segment(_ marker: UInt8, _ body: [UInt8]) {
            out += [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body
        }
        segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
        segment(0xDB, [0] + Self.zigzag.map { UInt8(luma[$0]) } + [1] + Self.zigzag.map { UInt8(chroma[$0]) })
        segment(
            0xC0,
            [8, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
        var tables: [UInt8] = []
        for (kind, table) in [(0x00, Self.dcLuminance), (0x10, Self.acLuminance), (0x01, Self.dcChrominance), (0x11, Self.acChrominance)] {
            tables += [UInt8(kind)] + table.bits + table.values
        }
        segment(0xC4, tables)
        segment(0xDA, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])

        var writer = BitWriter()
        var previous = [0, 0, 0]
        var y = [Double](repeating: 0, count: 256)
        var cb = [Double](repeating: 0, count: 64)
        var cr = [Double](repeating: 0, count: 64)
        var block = [Double](repeating: 0, count: 64)
        for top in stride(from: 0, to: height, by: 16) {
            for left in stride(from: 0, to: width, by: 16) {
                for index in 0..<64 { cb[index] = 0; cr[index] = 0 }
                for row in 0..<16 {
                    for column in 0..<16 {
                        let pixel = ((min(top + row, height - 1)) * width + min(left + column, width - 1)) * 3
                        let (r, g, b) = (Double(rgb[pixel]), Double(rgb[pixel + 1]), Double(rgb[pixel + 2]))
                        y[row * 16 + column] = 0.299 * r + 0.587 * g + 0.114 * b - 128
                        let chromaIndex = (row / 2) * 8 + column / 2
                        cb[chromaIndex] += (-0.168_736 * r - 0.331_264 * g + 0.5 * b) / 4
                        cr[chromaIndex] += (0.5 * r - 0.418_688 * g - 0.081_312 * b) / 4
                    }
                }
                for quadrant in 0..<4 {
                    let (rowOffset, columnOffset) = ((quadrant / 2) * 8, (quadrant % 2) * 8)
                    for index in 0..<64 { block[index] = y[(rowOffset + index / 8) * 16 + columnOffset + index % 8] }
                    previous[0] = encodeBlock(
                        block, table: luma, dc: Self.dcLuminance, ac: Self.acLuminance, previous: previous[0], into: &writer)
                }
                previous[1] = encodeBlock(
                    cb, table: chroma, dc: Self.dcChrominance, ac: Self.acChrominance, previous: previous[1], into: &writer)
                previous[2] = encodeBlock(
                    cr, table: chroma, dc: Self.dcChrominance, ac: Self.acChrominance, previous: previous[2], into: &writer)
            }
        }
        writer.flush()
        out += writer.bytes
        out += [0xFF, 0xD9]
        return out
    }

    /// DCT, quantisation and Huffman coding of one 8×8 block; returns its DC value.
    private func encodeBlock(
        _ samples: [Double], table: [Int], dc: HuffmanTable, ac: HuffmanTable, previous: Int, into writer: inout BitWriter
    ) -> Int {
        var rows = [Double](repeating: 0, count: 64)
        for v in 0..<8 {
            for u in 0..<8 {
                var sum = 0.0
                for x in 0..<8 { sum += samples[v * 8 + x] * Self.cosines[u * 8 + x] }
                rows[v * 8 + u] = sum
            }
        }
        var quantised = [Int](repeating: 0, count: 64)
        for v in 0..<8 {
            for u in 0..<8 {
                var sum = 0.0
                for y in 0..<8 { sum += rows[y * 8 + u] * Self.cosines[v * 8 + y] }
                quantised[v * 8 + u] = Int((sum / Double(table[v * 8 + u])).rounded())
            }
        }
        let value = quantised[0]
        let difference = value - previous
        let size = Self.bitLength(difference)
        writer.write(dc.codes[size])
        writer.write(Self.amplitude(difference, size), size)
        var run = 0
        for k in 1..<64 {
            let coefficient = quantised[Self.zigzag[k]]
            if coefficient == 0 {
                run += 1
                continue
            }
            while run > 15 {
                writer.write(ac.codes[0xF0])
                run -= 16
            }
            let size = Self.bitLength(coefficient)
            writer.write(ac.codes[run << 4 | size])
            writer.write(Self.amplitude(coefficient, size), size)
            run = 0
        }
        if run > 0 { writer.write(ac.codes[0x00]) }
        return value
    }

    static func bitLength(_ value: Int) -> Int { value == 0 ? 0 : Int.bitWidth - abs(value).leadingZeroBitCount }

    /// Negative values are sent as value - 1 in `size` bits (T.81 F.1.2.1).
    static func amplitude(_ value: Int, _ size: Int) -> UInt32 { UInt32(truncatingIfNeeded: value < 0 ? value + (1 << size) - 1 : value) }

    struct BitWriter {
        var bytes: [UInt8] = []
        private var buffer: UInt32 = 0
        private var count = 0

        mutating func write(_ code: (code: UInt32, length: Int)) { write(code.code, code.length) }

        mutating func write(_ bits: UInt32, _ length: Int) {
            guard length > 0 else { return }
            buffer = (buffer << UInt32(length)) | (bits & ((1 << UInt32(length)) - 1))
            count += length
            while count >= 8 {
                let byte = UInt8((buffer >> UInt32(count - 8)) & 0xFF)
                bytes.append(byte)
                if byte == 0xFF { bytes.append(0) }  // byte stuffing
                count -= 8
            }
            buffer &= (1 << UInt32(count)) - 1
        }

        /// Pads the last byte with ones.
        mutating func flush() {
            if count > 0 { write((1 << UInt32(8 - count)) - 1, 8 - count) }
        }
    }
}
