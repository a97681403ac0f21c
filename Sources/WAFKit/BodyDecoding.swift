import Foundation

/// The layers of encoding a request body went through, decided by its media type as the origin's
/// framework decides it, never guessed: the text each part holds once those layers are undone,
/// for the managed WAF's rules.
///
/// - `application/x-www-form-urlencoded` (and no type): `name=value` pairs, percent- and
///   `+`-encoded (WHATWG URL §5.1), handed on as a form.
/// - `application/json`, `+json`: each string literal (key or value) on its own, its escapes
///   undone (RFC 8259 §7: `\uXXXX` with surrogate pairs, `\n`, `\"`, `\\`, `\/`).
/// - `multipart/form-data` (RFC 7578): each part on its own, its name and file name included,
///   after its own `Content-Transfer-Encoding` (base64, quoted-printable: RFC 2045 §6) and as its
///   own `Content-Type` says (a JSON part is unescaped; binary uploads are skipped). The boundary
///   lines and part headers are framing, not content.
/// - XML (`application/xml`, `text/xml`, `+xml`): CDATA markers removed so their content is read
///   as text; entities are decoded by the normaliser with HTML's.
/// - Any other `text/*`, `application/graphql`: as it is.
package enum BodyDecoding {
    package enum Part: Equatable {
        /// `name=value&…`, still percent-encoded.
        case form(String)
        /// Decoded text.
        case text(String)
    }

    /// Parts of a multipart body read at most (the rest is ignored, as bytes past `bodyLimit` are).
    static let maxParts = 100

    package static func parts(of body: [UInt8], contentType: String?) -> [Part] {
        let (type, parameters) = mediaType(contentType)
        switch type {
        case "", "application/x-www-form-urlencoded": return [.form(String(decoding: body, as: UTF8.self))]
        case "multipart/form-data":
            guard let boundary = parameters["boundary"], !boundary.isEmpty else { return [.text(String(decoding: body, as: UTF8.self))] }
            return multipart(body, boundary: boundary)
        case _ where isJSON(type):
            return jsonStrings(body).map { .text($0) }
        default:
            return decoded(body, type: type).map { [.text($0)] } ?? []
        }
    }

    static func isJSON(_ type: String) -> Bool { type == "application/json" || type.hasSuffix("+json") }

    /// The string literals of a JSON text — keys and values, each on its own and unescaped —
    /// as the origin's parser hands them over: the quotes are JSON's syntax, not a literal the
    /// payload closed. Text that is not JSON (no string literal at all) is read whole.
    static func jsonStrings(_ body: [UInt8]) -> [String] {
        var strings: [String] = []
        var index = 0
        while index < body.count, strings.count < 10_000 {
            guard body[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            var end = index + 1
            while end < body.count, body[end] != UInt8(ascii: "\"") { end += body[end] == UInt8(ascii: "\\") ? 2 : 1 }
            let literal = Array(body[(index + 1)..<min(end, body.count)])
            // Numbers, keys like "id" and the like are judged too: cheap, and keys are input as well.
            if !literal.isEmpty { strings.append(jsonUnescaped(literal)) }
            index = end + 1
        }
        return strings.isEmpty ? [jsonUnescaped(body)] : strings
    }

    /// The text of a body (or part) of `type`, or nil for bytes that are not text.
    static func decoded(_ body: [UInt8], type: String) -> String? {
        if isJSON(type) { return jsonStrings(body).joined(separator: "\n") }
        if type == "application/xml" || type == "text/xml" || type.hasSuffix("+xml") { return withoutCDATAMarkers(body) }
        if type.isEmpty || type.hasPrefix("text/") || type == "application/graphql" || type == "application/x-www-form-urlencoded" {
            return String(decoding: body, as: UTF8.self)
        }
        return nil  // images, archives, octet streams
    }

    /// ("type/subtype" in lower case, parameters by lower-case name, quotes removed).
    static func mediaType(_ value: String?) -> (String, [String: String]) {
        guard let value else { return ("", [:]) }
        let pieces = value.split(separator: ";")
        let type = pieces.first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            var parameterValue = pair[1].trimmingCharacters(in: .whitespaces)
            if parameterValue.count >= 2, parameterValue.hasPrefix("\""), parameterValue.hasSuffix("\"") {
                parameterValue = String(parameterValue.dropFirst().dropLast())
            }
            parameters[pair[0].trimmingCharacters(in: .whitespaces).lowercased()] = parameterValue
        }
        return (type, parameters)
    }

    /// JSON's string escapes undone over the whole text (keys, values and anything malformed alike).
    static func jsonUnescaped(_ body: [UInt8]) -> String {
        guard body.contains(0x5C) else { return String(decoding: body, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        let text = Array(String(decoding: body, as: UTF8.self).unicodeScalars)
        var index = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= text.count else { return nil }
            return UInt32(String(String.UnicodeScalarView(text[at..<at + 4])), radix: 16)
        }
        while index < text.count {
            let scalar = text[index]
            guard scalar == "\\", index + 1 < text.count else {
                scalars.append(scalar)
                index += 1
                continue
            }
            let next = text[index + 1]
            switch next {
            case "u":
                if var value = hex4(index + 2) {
                    index += 6
                    // A surrogate pair spells one code point.
                    if (0xD800..<0xDC00).contains(value), index + 1 < text.count, text[index] == "\\", text[index + 1] == "u",
                        let low = hex4(index + 2), (0xDC00..<0xE000).contains(low)
                    {
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                    scalars.append(Unicode.Scalar(value) ?? "?")
                    continue
                }
                scalars.append(next)
            case "n": scalars.append("\n")
            case "r": scalars.append("\r")
            case "t": scalars.append("\t")
            case "b", "f": scalars.append(" ")
            default: scalars.append(next)  // \" \\ \/ and anything else: the character itself
            }
            index += 2
        }
        return String(scalars)
    }

    static func withoutCDATAMarkers(_ body: [UInt8]) -> String {
        String(decoding: body, as: UTF8.self).replacingOccurrences(of: "<![CDATA[", with: "").replacingOccurrences(of: "]]>", with: "")
    }

    /// The parts of a multipart/form-data body (RFC 7578, RFC 2046 §5.1.1).
    static func multipart(_ body: [UInt8], boundary: String) -> [Part] {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [Part] = []
        var cursor = 0
        guard let first = find(delimiter, in: body, from: 0) else { return [.text(String(decoding: body, as: UTF8.self))] }
        cursor = first + delimiter.count
        while parts.count < maxParts, cursor < body.count {
            // "--" after a delimiter closes the body.
            if cursor + 1 < body.count, body[cursor] == 0x2D, body[cursor + 1] == 0x2D { break }
            let end = find(delimiter, in: body, from: cursor) ?? body.count
            var part = Array(body[cursor..<end])
            // The line break after the delimiter and the one before the next belong to the framing.
            if part.starts(with: [0x0D, 0x0A]) { part.removeFirst(2) } else if part.first == 0x0A { part.removeFirst() }
            if part.last == 0x0A { part.removeLast() }
            if part.last == 0x0D { part.removeLast() }
            parts += decodedPart(part)
            cursor = end + delimiter.count
        }
        return parts
    }

    static func decodedPart(_ part: [UInt8]) -> [Part] {
        let split =
            find([0x0D, 0x0A, 0x0D, 0x0A], in: part, from: 0).map { ($0, 4) } ?? find([0x0A, 0x0A], in: part, from: 0).map { ($0, 2) }
        guard let (headerEnd, gap) = split else { return [.text(String(decoding: part, as: UTF8.self))] }
        var fields: [String: String] = [:]
        for line in String(decoding: part[..<headerEnd], as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        var parts: [Part] = []
        // The field's name and file name are the origin's input too.
        let (_, disposition) = mediaType(fields["content-disposition"].map { "form-data;" + $0.drop { $0 != ";" } })
        for key in ["name", "filename"] { if let value = disposition[key], !value.isEmpty { parts.append(.text(value)) } }
        var content = Array(part[(headerEnd + gap)...])
        switch fields["content-transfer-encoding"]?.lowercased() {
        case "base64":
            let compact = content.filter { !($0 == 0x0D || $0 == 0x0A || $0 == 0x20) }
            content = Data(base64Encoded: Data(compact), options: .ignoreUnknownCharacters).map { Array($0) } ?? content
        case "quoted-printable": content = quotedPrintableDecoded(content)
        default: break
        }
        let (type, _) = mediaType(fields["content-type"])
        if let text = decoded(content, type: type == "" ? "text/plain" : type) { parts.append(.text(text)) }
        return parts
    }

    /// RFC 2045 §6.7: =XX bytes and soft line breaks.
    static func quotedPrintableDecoded(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x3D {
                if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A {
                    index += 3
                    continue
                }
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                    index += 2
                    continue
                }
                if index + 2 < bytes.count, let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
                {
                    output.append(value)
                    index += 3
                    continue
                }
            }
            output.append(bytes[index])
            index += 1
        }
        return output
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
