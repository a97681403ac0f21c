import DCDNCore
import Foundation
import Hummingbird

/// BIND zone files (RFC 1035 §5) for a domain: export, and import of the record types DCDN
/// serves. The SOA and apex NS records are DCDN's own, so import skips them.
enum ZoneFile {
    static func export(domain: Domain, records: [DomainRecord], settings: DCDNSettings) -> String {
        var lines = [
            "; \(domain.name) exported from DCDN on \(Date().formatted(.iso8601))",
            "$ORIGIN \(domain.name).",
            "$TTL 300",
            "@\t3600\tIN\tSOA\t\(settings.nameservers[0]).\t\(settings.hostmaster).\t\(domain.serial) 3600 600 1209600 300",
        ]
        lines += settings.nameservers.map { "@\t86400\tIN\tNS\t\($0)." }
        for record in records {
            var data: String
            switch record.type {
            case "CNAME", "NS": data = record.content + "."
            case "MX": data = "\(record.priority ?? 10) \(record.content == "." ? "." : record.content + ".")"
            case "SRV":
                let fields = record.content.split(separator: " ")
                data = "\(record.priority ?? 10) \(fields[0]) \(fields[1]) \(fields[2] == "." ? "." : fields[2] + ".")"
            case "TXT": data = quoted(record.content)
            default: data = record.content
            }
            let ttl = record.ttl == 0 ? "" : "\t\(record.ttl)"
            lines.append("\(record.name)\(ttl)\tIN\t\(record.type)\t\(data)\(record.proxied ? "\t; proxied" : "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// TXT data as one or more quoted strings of at most 255 bytes.
    static func quoted(_ text: String) -> String {
        let escaped = Array(text.utf8)
        return stride(from: 0, to: max(escaped.count, 1), by: 255).map { start in
            let chunk = String(decoding: escaped[start..<min(start + 255, escaped.count)], as: UTF8.self)
            return "\"" + chunk.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: " ")
    }

    struct ImportResult: ResponseCodable {
        struct Problem: Codable {
            var line: Int
            var detail: String
        }
        var imported: Int
        var skipped: Int
        var errors: [Problem]
    }

    /// Parses and adds the records (replacing the existing ones with `replace`); a line that
    /// fails is reported with its number and the rest still import.
    static func importZone(_ text: String, into domain: Domain, replace: Bool, service: DomainService) async throws -> ImportResult {
        guard text.utf8.count <= 1 << 20 else {
            throw APIError(.contentTooLarge, code: .bodyTooLarge, detail: "A zone file may be at most 1 MiB.")
        }
        let (entries, problems) = parse(text, origin: domain.name)
        var result = ImportResult(imported: 0, skipped: 0, errors: problems)
        if replace {
            for record in try await service.records(of: domain) { try await service.deleteRecord(record, domain: domain) }
        }
        for entry in entries {
            if entry.type == "SOA" || (entry.type == "NS" && entry.name == "@") {
                result.skipped += 1
                continue
            }
            do {
                _ = try await service.addRecord(
                    DomainService.RecordDraft(
                        name: entry.name, type: entry.type, content: entry.content, ttl: entry.ttl, priority: entry.priority,
                        proxied: entry.proxied),
                    to: domain)
                result.imported += 1
            } catch let error as APIError where error.code == .duplicateRecord {
                result.skipped += 1
            } catch let error as APIError {
                result.errors.append(.init(line: entry.line, detail: error.detail))
            }
        }
        result.errors.sort { $0.line < $1.line }
        return result
    }

    struct Entry {
        var line: Int
        var name: String
        var type: String
        var content: String
        var ttl: Int?
        var priority: Int?
        var proxied: Bool
    }

    /// Tokenises with $ORIGIN, $TTL, parentheses, quotes and comments.
    static func parse(_ text: String, origin defaultOrigin: String) -> ([Entry], [ImportResult.Problem]) {
        var entries: [Entry] = []
        var problems: [ImportResult.Problem] = []
        var origin = defaultOrigin
        var defaultTTL: Int?
        var previousName = "@"
        var pending: [String] = []
        var pendingLine = 0
        var depth = 0
        var pendingStartsWithBlank = false
        var proxied = false
        for (index, rawLine) in text.components(separatedBy: .newlines).enumerated() {
            let (tokens, comment) = tokenize(rawLine)
            if pending.isEmpty {
                pendingLine = index + 1
                pendingStartsWithBlank = rawLine.first == " " || rawLine.first == "\t"
                proxied = false
            }
            if comment.lowercased().contains("proxied") { proxied = true }
            for token in tokens {
                if token == "(" { depth += 1 } else if token == ")" { depth = max(0, depth - 1) } else { pending.append(token) }
            }
            guard depth == 0, !pending.isEmpty else { continue }
            defer { pending = [] }
            var fields = pending
            if fields[0].uppercased() == "$ORIGIN", fields.count >= 2 {
                origin = fields[1].lowercased().hasSuffix(".") ? String(fields[1].lowercased().dropLast()) : fields[1].lowercased()
                continue
            }
            if fields[0].uppercased() == "$TTL", fields.count >= 2 {
                defaultTTL = Int(fields[1])
                continue
            }
            if fields[0].hasPrefix("$") {
                problems.append(.init(line: pendingLine, detail: "\(fields[0]) is not supported"))
                continue
            }
            var name = previousName
            if !pendingStartsWithBlank {
                name = absolute(fields.removeFirst(), origin: origin)
            }
            previousName = name
            var ttl: Int? = nil
            // [TTL] [CLASS] or [CLASS] [TTL], then TYPE.
            for _ in 0..<2 {
                guard let field = fields.first else { break }
                if let value = Int(field) {
                    ttl = value; fields.removeFirst()
                } else if ["IN", "CH", "HS"].contains(field.uppercased()) {
                    fields.removeFirst()
                }
            }
            guard !fields.isEmpty else {
                problems.append(.init(line: pendingLine, detail: "no record type"))
                continue
            }
            let type = fields.removeFirst().uppercased()
            let relative = relativeName(name, zone: defaultOrigin)
            guard let relative else {
                problems.append(.init(line: pendingLine, detail: "\(name) is outside \(defaultOrigin)"))
                continue
            }
            var priority: Int?
            var content: String
            switch type {
            case "MX":
                guard fields.count == 2, let value = Int(fields[0]) else {
                    problems.append(.init(line: pendingLine, detail: "MX needs a preference and a host")); continue
                }
                priority = value
                content = absolute(fields[1], origin: origin)
            case "SRV":
                guard fields.count == 4, let value = Int(fields[0]) else {
                    problems.append(.init(line: pendingLine, detail: "SRV needs priority, weight, port and target")); continue
                }
                priority = value
                content = "\(fields[1]) \(fields[2]) \(absolute(fields[3], origin: origin))"
            case "CNAME", "NS":
                guard fields.count == 1 else { problems.append(.init(line: pendingLine, detail: "\(type) needs one host name")); continue }
                content = absolute(fields[0], origin: origin)
            case "TXT":
                content = fields.map { $0.hasPrefix("\"") ? String($0.dropFirst().dropLast()) : $0 }.joined()
            case "CAA":
                content = fields.joined(separator: " ")
            default:
                content = fields.joined(separator: " ")
            }
            entries.append(
                Entry(
                    line: pendingLine, name: relative, type: type, content: content,
                    ttl: ttl ?? defaultTTL.map { min(max($0, 60), 86_400) }, priority: priority, proxied: proxied))
        }
        return (entries, problems)
    }

    /// Splits a line into tokens, keeping quoted strings (with their quotes) whole; returns the comment too.
    static func tokenize(_ line: String) -> ([String], String) {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        var comment = ""
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            defer { index = line.index(after: index) }
            if quoted {
                current.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true; current.removeLast()
                } else if character == "\"" {
                    quoted = false
                }
                continue
            }
            switch character {
            case ";":
                comment = String(line[line.index(after: index)...])
                index = line.index(before: line.endIndex)
            case "\"":
                quoted = true
                current.append(character)
            case " ", "\t":
                if !current.isEmpty { tokens.append(current); current = "" }
            case "(", ")":
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(String(character))
            default:
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return (tokens, comment)
    }

    static func absolute(_ name: String, origin: String) -> String {
        if name == "@" { return origin }
        if name.hasSuffix(".") { return String(name.dropLast()).lowercased() }
        return "\(name).\(origin)".lowercased()
    }

    static func relativeName(_ name: String, zone: String) -> String? {
        if name == zone { return "@" }
        guard name.hasSuffix("." + zone) else { return nil }
        return String(name.dropLast(zone.count + 1))
    }
}
