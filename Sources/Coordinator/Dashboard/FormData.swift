import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body from a dashboard form.
struct FormData {
    private var values: [String: String] = [:]

    static let maxSize = 64 * 1024

    init(_ request: Request, context: AppRequestContext) async throws {
        let buffer = try await request.body.collect(upTo: Self.maxSize)
        let text = String(buffer: buffer)
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            values[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }

    subscript(_ key: String) -> String? { values[key] }
    func string(_ key: String) -> String { values[key] ?? "" }
}
