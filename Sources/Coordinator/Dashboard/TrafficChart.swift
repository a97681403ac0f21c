import Foundation

/// Series over time as an inline SVG (no chart library, no script): the first series filled.
/// For people who cannot see it, the chart has a title and a description (WCAG 1.1.1), and its
/// numbers are a table behind a "Show data" toggle.
struct TrafficChart {
    struct Series {
        let label: String
        /// The CSS class of its line (`requests`, `hits`, `blocked`, `challenged`).
        let style: String
        let values: [Int64]
    }

    let starts: [Date]
    let series: [Series]
    let bucketSeconds: Int
    let width = 720.0
    let height = 220.0
    let left = 48.0
    let bottom = 24.0

    init(starts: [Date], series: [Series], bucketSeconds: Int) {
        self.starts = starts
        self.series = series
        self.bucketSeconds = bucketSeconds
    }

    /// Requests and cache hits.
    init(buckets: [CDNService.Bucket], bucketSeconds: Int) {
        self.init(
            starts: buckets.map(\.start),
            series: [
                Series(label: "Requests", style: "requests", values: buckets.map(\.requests)),
                Series(label: "Cache hits", style: "hits", values: buckets.map(\.cacheHits)),
            ], bucketSeconds: bucketSeconds)
    }

    func svg() -> String {
        let plotWidth = width - left - 8
        let plotHeight = height - bottom - 8
        let peak = max(1, series.flatMap(\.values).max() ?? 1)
        let scale = Self.niceCeiling(Double(peak))
        let step = plotWidth / Double(max(1, starts.count - 1))
        func points(_ values: [Int64]) -> String {
            values.enumerated().map { index, value in
                String(format: "%.1f,%.1f", left + Double(index) * step, 8 + plotHeight - Double(value) / scale * plotHeight)
            }.joined(separator: " ")
        }
        let baseline = String(format: "%.1f", 8 + plotHeight)
        let names = series.map(\.label).joined(separator: ", ")
        let id = "chart-" + UUID().uuidString.prefix(8).lowercased()
        var svg = """
            <figure class="chart-figure"><svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" \
            aria-labelledby="\(id)-title \(id)-desc" xmlns="http://www.w3.org/2000/svg">\
            <title id="\(id)-title">\(names) over time</title><desc id="\(id)-desc">\(summary)</desc>
            """
        for fraction in [0.0, 0.5, 1.0] {
            let y = 8 + plotHeight - fraction * plotHeight
            svg += String(format: "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", left, width - 8, y, y)
            svg += String(
                format: "<text x=\"%.0f\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">%@</text>", left - 6, y + 4,
                Self.label(scale * fraction))
        }
        if let first = starts.first, let last = starts.last {
            svg += "<text x=\"\(Int(left))\" y=\"\(Int(height - 6))\" class=\"axis\">\(Self.time(first, bucketSeconds))</text>"
            svg +=
                "<text x=\"\(Int(width - 8))\" y=\"\(Int(height - 6))\" class=\"axis\" text-anchor=\"end\">\(Self.time(last, bucketSeconds))</text>"
        }
        for (index, line) in series.enumerated() {
            let drawn = points(line.values)
            if index == 0 {
                let right = String(format: "%.1f", left + Double(max(0, starts.count - 1)) * step)
                svg +=
                    "<polygon class=\"\(line.style)-area\" points=\"\(String(format: "%.1f", left)),\(baseline) \(drawn) \(right),\(baseline)\"/>"
            }
            svg += "<polyline class=\"\(line.style)\" points=\"\(drawn)\"><title>\(line.label)</title></polyline>"
        }
        svg += "</svg>"
        return svg + table + "</figure>"
    }

    /// One sentence a screen reader reads for the chart: the period, and each series' total and peak.
    var summary: String {
        guard let first = starts.first, let last = starts.last else { return "No data for this period." }
        let parts = series.map { line in
            "\(line.label): \(line.values.reduce(0, +)) in all, at most \(line.values.max() ?? 0) per interval"
        }
        return "From \(Self.time(first, bucketSeconds)) to \(Self.time(last, bucketSeconds)). " + parts.joined(separator: "; ") + "."
    }

    /// The chart's numbers as a table, behind a toggle that works without script.
    var table: String {
        var html =
            "<details class=\"chart-data\"><summary>Show data</summary><table><caption>\(series.map(\.label).joined(separator: ", "))</caption>"
        html +=
            "<thead><tr><th scope=\"col\">Time</th>" + series.map { "<th scope=\"col\">\($0.label)</th>" }.joined() + "</tr></thead><tbody>"
        for (index, start) in starts.enumerated() {
            html += "<tr><th scope=\"row\">\(Self.time(start, bucketSeconds))</th>"
            html += series.map { "<td>\(index < $0.values.count ? $0.values[index] : 0)</td>" }.joined() + "</tr>"
        }
        return html + "</tbody></table></details>"
    }

    static func niceCeiling(_ value: Double) -> Double {
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1.0, 2.0, 5.0, 10.0] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }

    static func label(_ value: Double) -> String {
        value >= 1_000_000
            ? String(format: "%.1fM", value / 1_000_000) : value >= 1000 ? String(format: "%.1fk", value / 1000) : String(Int(value))
    }

    static func time(_ date: Date, _ bucketSeconds: Int) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = bucketSeconds >= 86_400 ? "yyyy-MM-dd" : bucketSeconds >= 3600 ? "MM-dd HH:mm" : "HH:mm"
        return formatter.string(from: date) + " UTC"
    }
}
