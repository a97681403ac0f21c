import DCDNCore
import Foundation
import Hummingbird

/// BIND zone files (RFC 1035 §5) for a domain: export, and import of the record types DCDN
/// serves. The SOA and apex NS records are DCDN's own, so import skips them.
enum ZoneFile {
    /// `nameservers` is the domain's NS set (`NameserverSet`); the first is the SOA's MNAME.
    static func export(domain: Domain, records: [DomainRecord], nameservers: [String], hostmaster: String) -> String {
        // No $TTL: a record on automatic TTL has none, and any importer then gives it the SOA
        // MINIMUM, which is what DCDN serves for it (300 s).
        var lines = [
            "; \(domain.name) exported from DCDN on \(Date().formatted(.iso8601))",
            "$ORIGIN \(domain.name).",
            "@\t3600\tIN\tSOA\t\(nameservers[0]).\t\(hostmaster).\t\(domain.serial) 3600 600 1209600 300",
        ]
        lines += nameservers.map { "@\t86400\tIN\tNS\t\($0)." }
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

    /// TXT data as one or more quoted character-strings of at most 255 bytes each (RFC 1035
    /// §3.3.14), in presentation form (§5.1): `"` and `\` escaped, and every byte outside
    /// printable ASCII written as `\DDD`, so that any text survives any zone-file reader.
    static func quoted(_ text: String) -> String {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: max(bytes.count, 1), by: 255).map { start in
            "\"" + escaped(bytes[start..<min(start + 255, bytes.count)]) + "\""
        }.joined(separator: " ")
    }

    /// Bytes in presentation form, for inside a quoted string.
    static func escaped(_ bytes: some Sequence<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): text += "\\" + String(UnicodeScalar(byte))
            case 0x20...0x7E: text.unicodeScalars.append(UnicodeScalar(byte))
            default: text += "\\" + String(format: "%03d", Int(byte))
            }
        }
        return text
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

    /// One token of a zone file: its bytes with RFC 1035 §5.1 escapes decoded, and whether it was
    /// a quoted string.
    struct Token: Equatable {
        var bytes: [UInt8]
        var quoted: Bool

        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Tokenises with $ORIGIN, $TTL, parentheses, quotes, escapes and comments. Lines end at LF,
    /// CRLF or a lone CR, each counted once (a browser's text box sends CRLF).
    static func parse(_ text: String, origin defaultOrigin: String) -> ([Entry], [ImportResult.Problem]) {
        var entries: [Entry] = []
        var problems: [ImportResult.Problem] = []
        var origin = defaultOrigin
        var defaultTTL: Int?
        var previousName = "@"
        var pending: [Token] = []
        var pendingLine = 0
        var depth = 0
        var pendingStartsWithBlank = false
        var proxied = false
        // A byte-order mark (Windows editors write one) is not part of the first line.
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        for (index, rawLine) in lines(text).enumerated() {
            let (tokens, comment) = tokenize(rawLine)
            if pending.isEmpty {
                pendingLine = index + 1
                pendingStartsWithBlank = rawLine.first == " " || rawLine.first == "\t"
                proxied = false
            }
            if comment.lowercased().contains("proxied") { proxied = true }
            for token in tokens {
                if !token.quoted, token.bytes == [UInt8(ascii: "(")] {
                    depth += 1
                } else if !token.quoted, token.bytes == [UInt8(ascii: ")")] {
                    depth = max(0, depth - 1)
                } else {
                    pending.append(token)
                }
            }
            guard depth == 0, !pending.isEmpty else { continue }
            defer { pending = [] }
            var fields = pending
            let directive = fields[0].quoted ? "" : fields[0].text.uppercased()
            if directive == "$ORIGIN", fields.count >= 2 {
                let name = fields[1].text.lowercased()
                origin = name.hasSuffix(".") ? String(name.dropLast()) : name
                continue
            }
            if directive == "$TTL", fields.count >= 2 {
                guard let ttl = ttlSeconds(fields[1].text) else {
                    problems.append(.init(line: pendingLine, detail: Self.badTTL(fields[1].text)))
                    continue
                }
                defaultTTL = ttl
                continue
            }
            if directive.hasPrefix("$") {
                problems.append(.init(line: pendingLine, detail: "\(fields[0].text) is not supported"))
                continue
            }
            var name = previousName
            if !pendingStartsWithBlank {
                name = absolute(fields.removeFirst().text, origin: origin)
            }
            previousName = name
            var ttl: Int? = nil
            var badTTL: String?
            // [TTL] [CLASS] or [CLASS] [TTL], then TYPE. A TTL starts with a digit; a type never does.
            for _ in 0..<2 {
                guard let field = fields.first, !field.quoted else { break }
                if field.bytes.first.map({ (48...57).contains($0) }) == true {
                    if let value = ttlSeconds(field.text) { ttl = value } else { badTTL = field.text }
                    fields.removeFirst()
                } else if ["IN", "CH", "HS"].contains(field.text.uppercased()) {
                    fields.removeFirst()
                }
            }
            if let badTTL {
                problems.append(.init(line: pendingLine, detail: Self.badTTL(badTTL)))
                continue
            }
            guard !fields.isEmpty else {
                problems.append(.init(line: pendingLine, detail: "no record type"))
                continue
            }
            let type = fields.removeFirst().text.uppercased()
            let relative = relativeName(name, zone: defaultOrigin)
            guard let relative else {
                problems.append(.init(line: pendingLine, detail: "\(name) is outside \(defaultOrigin)"))
                continue
            }
            var priority: Int?
            var content: String
            switch type {
            case "MX":
                guard fields.count == 2, let value = Int(fields[0].text) else {
                    problems.append(.init(line: pendingLine, detail: "MX needs a preference and a host")); continue
                }
                priority = value
                content = absolute(fields[1].text, origin: origin)
            case "SRV":
                guard fields.count == 4, let value = Int(fields[0].text) else {
                    problems.append(.init(line: pendingLine, detail: "SRV needs priority, weight, port and target")); continue
                }
                priority = value
                content = "\(fields[1].text) \(fields[2].text) \(absolute(fields[3].text, origin: origin))"
            case "CNAME", "NS":
                guard fields.count == 1 else { problems.append(.init(line: pendingLine, detail: "\(type) needs one host name")); continue }
                content = absolute(fields[0].text, origin: origin)
            case "TXT":
                // The character-strings are one text: their bytes joined, then read as UTF-8.
                let bytes = fields.flatMap(\.bytes)
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    problems.append(.init(line: pendingLine, detail: "TXT data must be UTF-8 text (DCDN stores TXT records as text)"))
                    continue
                }
                // Quoted, so that text which itself starts and ends with a quote keeps it.
                content = "\"" + text + "\""
            default:
                content = fields.map { $0.quoted ? "\"" + escaped($0.bytes) + "\"" : $0.text }.joined(separator: " ")
            }
            entries.append(
                Entry(
                    line: pendingLine, name: relative, type: type, content: content,
                    ttl: ttl ?? defaultTTL.map { min(max($0, 60), 86_400) }, priority: priority, proxied: proxied))
        }
        return (entries, problems)
    }

    static func badTTL(_ text: String) -> String {
        "TTL \(text) is not a TTL: use seconds, or units s, m, h, d and w (1h30m, 2d)"
    }

    /// A TTL in BIND's syntax: seconds, or numbers each followed by a unit s, m, h, d or w
    /// (any case), added up ("1h30m" is 5400); a final number without a unit is seconds. Nil
    /// when it is none of these or exceeds 2^31 - 1 (RFC 2181 §8).
    static func ttlSeconds(_ text: String) -> Int? {
        guard let first = text.utf8.first, (48...57).contains(first) else { return nil }
        var total = 0
        var number: Int?
        for byte in text.utf8 {
            if (48...57).contains(byte) {
                number = (number ?? 0) * 10 + Int(byte - 48)
                guard number! <= Int(Int32.max) else { return nil }
                continue
            }
            let unit: Int
            switch byte | 0x20 {
            case UInt8(ascii: "s"): unit = 1
            case UInt8(ascii: "m"): unit = 60
            case UInt8(ascii: "h"): unit = 3600
            case UInt8(ascii: "d"): unit = 86_400
            case UInt8(ascii: "w"): unit = 604_800
            default: return nil
            }
            guard let value = number else { return nil }
            total += value * unit
            number = nil
            guard total <= Int(Int32.max) else { return nil }
        }
        total += number ?? 0
        return total <= Int(Int32.max) ? total : nil
    }

    /// The lines of a text, split at LF, CRLF or a lone CR.
    static func lines(_ text: String) -> [Substring] {
        var lines: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        // Characters, not scalars: "\r\n" is one Character in Swift.
        while index < text.endIndex {
            let character = text[index]
            if character == "\n" || character == "\r\n" || character == "\r" {
                lines.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        if start < text.endIndex { lines.append(text[start...]) }
        return lines
    }

    /// Splits a line into tokens, decoding `\X` and `\DDD` escapes (RFC 1035 §5.1) in quoted and
    /// bare tokens alike; returns the comment too.
    static func tokenize(_ line: Substring) -> ([Token], String) {
        let bytes = Array(line.utf8)
        var tokens: [Token] = []
        var current: [UInt8] = []
        var started = false
        var quoted = false
        var comment = ""
        var index = 0
        func finish() {
            if started || !current.isEmpty { tokens.append(Token(bytes: current, quoted: quoted)) }
            current = []
            started = false
            quoted = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\\"), index < bytes.count {
                // \DDD: a byte in decimal; \X: X itself.
                if index + 3 <= bytes.count, bytes[index..<(index + 3)].allSatisfy({ (48...57).contains($0) }) {
                    let value = bytes[index..<(index + 3)].reduce(0) { $0 * 10 + Int($1 - 48) }
                    if value <= 255 {
                        current.append(UInt8(value))
                        index += 3
                        started = true
                        continue
                    }
                }
                current.append(bytes[index])
                index += 1
                started = true
                continue
            }
            if quoted {
                if byte == UInt8(ascii: "\"") { finish() } else { current.append(byte) }
                continue
            }
            switch byte {
            case UInt8(ascii: ";"):
                comment = String(decoding: bytes[index...], as: UTF8.self)
                index = bytes.count
            case UInt8(ascii: "\""):
                finish()
                quoted = true
                started = true
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                finish()
            case UInt8(ascii: "("), UInt8(ascii: ")"):
                finish()
                tokens.append(Token(bytes: [byte], quoted: false))
            default:
                current.append(byte)
                started = true
            }
        }
        finish()
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
