import DCDNCore
import Foundation
import NIOPosix
import NodeProtocol

/// The managed rules every domain gets: SQL injection, XSS, path traversal and local files,
/// remote file inclusion, remote code execution, scanners and protocol anomalies, looked for in
/// the URI, arguments, headers and the first `bodyLimit` bytes of a body after normalisation
/// (URL and HTML decoding until stable, case, comments and whitespace).
///
/// As in the OWASP Core Rule Set, each match adds its severity to an anomaly score and a request
/// scoring `threshold` or more is blocked; each rule belongs to a paranoia level and a domain's
/// sensitivity decides which levels run.
package struct ManagedWAF: Sendable {
    package enum Category: String, Sendable {
        case sqlInjection = "sql_injection"
        case xss
        case pathTraversal = "path_traversal"
        case fileInclusion = "file_inclusion"
        case remoteCode = "remote_code_execution"
        case scanner
        case protocolAnomaly = "protocol_anomaly"
    }

    /// What a rule looks at.
    package enum Scope: Sendable {
        /// Decoded path, query, body, cookie values and Referer.
        case content
        /// The content and every header value (Log4Shell, Shellshock).
        case contentAndHeaders
        /// Only the User-Agent.
        case userAgent
    }

    package struct Rule: @unchecked Sendable {  // Regex is immutable once compiled
        package let id: Int
        package let category: Category
        package let level: Int
        package let score: Int
        package let scope: Scope
        /// Any of these substrings (of normalised, lower-case text) matches.
        package let needles: [String]
        /// Or this pattern, tried only when `hint` occurs (keeps the regex engine off clean text).
        package let pattern: Regex<AnyRegexOutput>?
        package let hint: String?

        package init(
            _ id: Int, _ category: Category, level: Int, score: Int, scope: Scope = .content, any needles: [String] = [],
            pattern: String? = nil, hint: String? = nil
        ) {
            self.id = id
            self.category = category
            self.level = level
            self.score = score
            self.scope = scope
            self.needles = needles
            self.pattern = pattern.map { try! Regex($0) }
            self.hint = hint
        }

        package func matches(_ text: String) -> Bool {
            var text = text
            let (found, hinted) = text.withUTF8 { bytes in
                (needles.contains { ManagedWAF.find($0, in: bytes) }, hint.map { ManagedWAF.find($0, in: bytes) } ?? true)
            }
            if found { return true }
            if let pattern, hinted { return (try? pattern.firstMatch(in: text)) != nil }
            return false
        }
    }

    package struct Finding: Sendable, Equatable {
        package let rule: Int
        package let category: Category
        package let score: Int
    }

    package struct Verdict: Sendable {
        package var score = 0
        package var findings: [Finding] = []
        package var blocked: Bool { score >= ManagedWAF.threshold }
    }

    /// The inbound anomaly threshold (CRS's default).
    package static let threshold = 5
    /// Body bytes inspected; the rest of a larger body passes uninspected.
    package static let bodyLimit = 128 * 1024
    package static let critical = 5
    package static let error = 4
    package static let warning = 3
    package static let notice = 2

    package static let rules: [Rule] = [
        // SQL injection
        Rule(942_100, .sqlInjection, level: 1, score: critical, any: ["union select", "union all select", "union distinct select"]),
        Rule(
            942_130, .sqlInjection, level: 1, score: critical,
            pattern: #"(?:['"`)]|\b)\s*(?:or|and|xor|\|\||&&)\s*['"`(]*\s*(\w+)\s*['"`]*\s*(?:=|<=>|like|is)\s*['"`(]*\s*\1\b"#),
        Rule(942_131, .sqlInjection, level: 1, score: critical, pattern: #"['"`]\s*(?:or|and|xor)\s*['"`]"#),
        Rule(942_132, .sqlInjection, level: 1, score: critical, pattern: #"\b(?:or|and)\s+\d+\s*[=<>]+\s*\d+"#),
        Rule(
            942_160, .sqlInjection, level: 1, score: critical,
            any: ["sleep(", "benchmark(", "pg_sleep(", "waitfor delay", "dbms_pipe.receive_message", "randomblob("]),
        Rule(
            942_140, .sqlInjection, level: 1, score: critical,
            any: ["information_schema", "sysobjects", "syscolumns", "mysql.user", "pg_catalog", "sqlite_master", "msysaccessobjects"]),
        Rule(942_150, .sqlInjection, level: 1, score: critical, any: ["load_file(", "into outfile", "into dumpfile", "xp_cmdshell"]),
        Rule(
            942_350, .sqlInjection, level: 1, score: critical,
            pattern: #";\s*(?:drop|alter|create|truncate|delete|insert|update|shutdown|exec|declare|select)\s"#, hint: ";"),
        Rule(942_440, .sqlInjection, level: 1, score: critical, pattern: #"['"`)]\s*(?:--|#|;)"#),
        Rule(
            942_151, .sqlInjection, level: 2, score: critical,
            any: ["extractvalue(", "updatexml(", "@@version", "version()", "group_concat(", "concat(0x", "char(0x", "user()", "database()"]),
        // A column list (star, number, NULL, identifiers with commas or calls) or `select x from y`:
        // English "select the best option from the list" is no query.
        Rule(
            942_200, .sqlInjection, level: 2, score: critical,
            pattern: #"\bselect\s+(?:(?:\*|\d+|null|@@[\w.]+|distinct\s+[\w.]+|[\w.`"\[\]]+)\s*(?:,|\(|\s+from\s+[\w.`"\[\]]+)|top\s+\d)"#,
            hint: "select"),
        Rule(942_201, .sqlInjection, level: 2, score: critical, pattern: #"\b(?:insert\s+into|delete\s+from|drop\s+table)\b"#),
        Rule(942_450, .sqlInjection, level: 3, score: warning, pattern: #"\b0x[0-9a-f]{8,}"#, hint: "0x"),
        Rule(942_460, .sqlInjection, level: 3, score: notice, any: ["'"]),
        // Cross-site scripting
        Rule(941_110, .xss, level: 1, score: critical, any: ["<script", "</script"]),
        Rule(941_170, .xss, level: 1, score: critical, any: ["javascript:", "vbscript:", "data:text/html", "livescript:"]),
        Rule(
            941_120, .xss, level: 1, score: critical,
            pattern:
                #"[\s/"'<]on(?:error|load|mouseover|mouseout|mouseenter|focus|focusin|blur|click|dblclick|animationstart|animationend|toggle|begin|pageshow|submit|input|keydown|keyup|keypress|change|wheel|pointerover|transitionend|unload|resize|scroll)\s*="#,
            hint: "on"),
        Rule(
            941_160, .xss, level: 1, score: critical, any: ["<iframe", "<frameset", "<applet", "<meta http-equiv", "<base href", "srcdoc="]),
        Rule(941_161, .xss, level: 1, score: error, any: ["<object", "<embed", "<svg", "<math", "<form action", "<img src=x"]),
        Rule(941_180, .xss, level: 1, score: critical, any: ["document.cookie", "document.domain", "document.write(", "window.location="]),
        Rule(
            941_190, .xss, level: 2, score: critical,
            any: ["alert(", "prompt(", "confirm(", "string.fromcharcode", "atob(", "-moz-binding"]),
        Rule(941_191, .xss, level: 2, score: error, any: ["eval(", "expression(", "settimeout(", "setinterval(", "innerhtml"]),
        Rule(941_320, .xss, level: 3, score: warning, pattern: #"<[a-z!/?]"#, hint: "<"),
        // Path traversal and local files
        Rule(930_100, .pathTraversal, level: 1, score: critical, any: ["../", "/..;/"]),
        Rule(
            930_120, .pathTraversal, level: 1, score: critical,
            any: [
                "/etc/passwd", "/etc/shadow", "/etc/hosts", "/etc/group", "/proc/self/", "boot.ini", "win.ini", "system32/",
                "/windows/system", "c:/windows",
            ]),
        Rule(
            930_130, .pathTraversal, level: 1, score: critical,
            any: [
                "/.git/", "/.svn/", "/.hg/", "/.env", ".htaccess", ".htpasswd", "/web.config", "wp-config.php", "/.aws/", "/.ssh/",
                "id_rsa",
            ]
        ),
        // Remote file inclusion and wrappers
        Rule(
            931_100, .fileInclusion, level: 1, score: critical,
            any: ["php://", "file://", "zip://", "phar://", "expect://", "glob://", "data://", "jar:", "gopher://", "dict://"]),
        Rule(
            931_110, .fileInclusion, level: 1, score: critical, pattern: #"=\s*(?:https?|ftp)://\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"#,
            hint: "://"),
        Rule(931_120, .fileInclusion, level: 2, score: critical, pattern: #"=\s*(?:https?|ftp)://[^&\s]*\?+(?:&|$)"#, hint: "://"),
        Rule(931_130, .fileInclusion, level: 3, score: warning, pattern: #"=\s*(?:https?|ftp)://"#, hint: "://"),
        Rule(933_100, .remoteCode, level: 1, score: critical, any: ["<?php", "<?=", "<% "]),
        // Remote code execution
        Rule(
            932_100, .remoteCode, level: 1, score: critical,
            pattern:
                #"(?:;|\||&&|\$\(|`)\s*(?:cat|ls|id|whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|python3?|perl|php|ruby|ping|nslookup|echo|rm|chmod|powershell|cmd|telnet|busybox)\b"#
        ),
        Rule(
            932_150, .remoteCode, level: 1, score: critical,
            any: ["/bin/sh", "/bin/bash", "/usr/bin/", "cmd.exe", "powershell -", "/dev/tcp/"]),
        Rule(
            944_150, .remoteCode, level: 1, score: critical, scope: .contentAndHeaders,
            any: ["${jndi:", "${${", "${env:", "${lower:", "${upper:", "${sys:"]),
        Rule(932_170, .remoteCode, level: 1, score: critical, scope: .contentAndHeaders, any: ["() {"]),
        Rule(
            933_150, .remoteCode, level: 1, score: critical,
            any: [
                "system(", "passthru(", "shell_exec(", "popen(", "proc_open(", "base64_decode(", "pcntl_exec(", "assert(",
                "call_user_func(",
            ]),
        Rule(932_200, .remoteCode, level: 2, score: error, any: ["$(", "`"]),
        Rule(932_230, .remoteCode, level: 3, score: warning, any: ["{{", "}}", "<%="]),
        // Scanners (User-Agent)
        Rule(
            913_100, .scanner, level: 1, score: critical, scope: .userAgent,
            any: [
                "sqlmap", "nikto", "nmap", "masscan", "acunetix", "nessus", "wpscan", "dirbuster", "gobuster", "nuclei", "zgrab", "w3af",
                "openvas", "havij", "netsparker", "appscan", "arachni", "jaeles", "ffuf", "feroxbuster", "wfuzz", "whatweb", "zmeu",
                "morfeus", "commix", "paros", "webinspect", "qualys", "burpcollaborator", "dirsearch",
            ]),
    ]

    package let level: Int
    /// The rules of this level and below, by scope.
    private let contentRules: [Rule]
    private let headerRules: [Rule]
    private let userAgentRules: [Rule]

    package init(sensitivity: String) {
        let level = WAFSensitivity(rawValue: sensitivity)?.paranoiaLevel ?? WAFSensitivity.medium.paranoiaLevel
        self.level = level
        contentRules = Self.rules.filter { $0.level <= level && $0.scope != .userAgent }
        headerRules = Self.rules.filter { $0.level <= level && $0.scope == .contentAndHeaders }
        userAgentRules = Self.rules.filter { $0.level <= level && $0.scope == .userAgent }
    }

    package var isOn: Bool { level > 0 }

    /// The request's score and findings. `target` is the raw path and query; `headers` all
    /// header fields as (lower-case name, value); `body` the first `bodyLimit` bytes, if any.
    package func inspect(method: String, target: String, headers: some Collection<(String, String)>, body: [UInt8]? = nil) -> Verdict {
        var verdict = Verdict()
        guard isOn else { return verdict }
        var userAgent: String?
        var contentLength = false
        var chunked = false
        for (name, value) in headers {
            switch name {
            case "user-agent": userAgent = value
            case "content-length": contentLength = true
            case "transfer-encoding": chunked = true
            default: break
            }
            // Every header value meets the header-wide rules; User-Agent and Referer the content
            // rules too (as in the Core Rule Set). The User-Agent is judged below.
            if name != "cookie", name != "user-agent", Self.isSuspicious(value.utf8) {
                let rules = name == "referer" ? contentRules : headerRules
                remembered(name, value, &verdict) { fresh in check(Self.normalize(value, form: false), rules: rules, &fresh) }
            }
        }
        if let cookie = headers.first(where: { $0.0 == "cookie" })?.1, Self.isSuspicious(cookie.utf8) {
            // Cookie values are often base64 or URL-encoded JSON: judge the values only.
            for pair in cookie.split(separator: ";") {
                let value = pair.split(separator: "=", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
                if Self.isSuspicious(value.utf8) { check(Self.normalize(value, form: true), rules: contentRules, &verdict) }
            }
        }
        let (path, query) = Self.split(target)
        // Paths repeat (every hit of an object): their verdicts are remembered too.
        remembered(":path", String(path), &verdict) { fresh in
            if Self.isSuspicious(path.utf8) || Self.hasRestrictedName(path) {
                check(Self.normalize(String(path), form: false), rules: contentRules, &fresh)
            }
        }
        if let query, !query.isEmpty {
            let arguments = query.split(separator: "&", omittingEmptySubsequences: true)
            if arguments.count > 255 { add(Finding(rule: 920_380, category: .protocolAnomaly, score: Self.critical), &verdict) }
            check(Self.normalize(String(query), form: true), rules: contentRules, &verdict)
        }
        if let body, !body.isEmpty {
            check(Self.normalize(String(decoding: body, as: UTF8.self), form: true), rules: contentRules, &verdict)
        }
        if let userAgent {
            // Browsers' User-Agents always hold parentheses: remembered, with the scanner check.
            remembered("user-agent", userAgent, &verdict) { fresh in
                if Self.isSuspicious(userAgent.utf8) { check(Self.normalize(userAgent, form: false), rules: contentRules, &fresh) }
                let lower = userAgent.lowercased()
                for rule in userAgentRules where rule.matches(lower) {
                    add(Finding(rule: rule.id, category: rule.category, score: rule.score), &fresh)
                }
            }
        } else if level >= 2 {
            add(Finding(rule: 920_320, category: .protocolAnomaly, score: Self.notice), &verdict)
        }
        // Protocol anomalies.
        if contentLength && chunked { add(Finding(rule: 920_180, category: .protocolAnomaly, score: Self.critical), &verdict) }
        if method == "GET" || method == "HEAD" {
            // The usual methods: nothing to flag.
        } else if Self.debugMethods.contains(method) {
            add(Finding(rule: 911_100, category: .protocolAnomaly, score: Self.critical), &verdict)
        } else if level >= 2, !Self.standardMethods.contains(method) {
            add(Finding(rule: 911_101, category: .protocolAnomaly, score: Self.warning), &verdict)
        }
        if target.utf8.contains(0x25), target.lowercased().contains("%00") {
            add(Finding(rule: 920_270, category: .protocolAnomaly, score: Self.critical), &verdict)
        }
        // The image endpoint's `url=` names a source by design, often by address; the image
        // pipeline checks it against private networks itself.
        if target.hasPrefix("/cdn-cgi/image"), verdict.findings.contains(where: { $0.category == .fileInclusion }) {
            verdict.findings.removeAll { $0.category == .fileInclusion }
            verdict.score = verdict.findings.reduce(0) { $0 + $1.score }
        }
        return verdict
    }

    /// Bodies the WAF reads: forms, JSON, XML and text, as the Core Rule Set's body processors.
    /// Uploads (images, archives, octet streams) pass uninspected: their bytes are not text.
    package static func inspectsBody(contentType: String?) -> Bool {
        guard let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() else {
            return false
        }
        return type == "application/x-www-form-urlencoded" || type == "multipart/form-data" || type.hasPrefix("text/")
            || type == "application/json" || type.hasSuffix("+json") || type == "application/xml" || type.hasSuffix("+xml")
            || type == "application/graphql"
    }

    package static let standardMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT"]
    package static let debugMethods: Set<String> = ["TRACE", "TRACK", "DEBUG"]

    /// Whether `needle` occurs in `bytes`: a plain byte search (Foundation's string search is
    /// many times slower and this runs on the request path).
    package static func find(_ needle: String, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var needle = needle
        return needle.withUTF8 { pattern in
            guard let first = pattern.first else { return true }
            guard bytes.count >= pattern.count else { return false }
            var index = 0
            let last = bytes.count - pattern.count
            while index <= last {
                if bytes[index] == first {
                    var offset = 1
                    while offset < pattern.count && bytes[index + offset] == pattern[offset] { offset += 1 }
                    if offset == pattern.count { return true }
                }
                index += 1
            }
            return false
        }
    }

    /// The findings `judge` makes of a value, remembered per thread under (level, name, value).
    private func remembered(_ name: String, _ value: String, _ verdict: inout Verdict, judge: (inout Verdict) -> Void) {
        let memo = HeaderVerdicts.current
        let key = HeaderVerdicts.Key(level: level, name: name, value: value)
        let findings =
            memo.findings(key)
            ?? {
                var fresh = Verdict()
                judge(&fresh)
                memo.remember(key, fresh.findings)
                return fresh.findings
            }()
        for finding in findings { add(finding, &verdict) }
    }

    private func check(_ text: String, rules: [Rule], _ verdict: inout Verdict) {
        for rule in rules where rule.matches(text) {
            add(Finding(rule: rule.id, category: rule.category, score: rule.score), &verdict)
        }
        // CR LF injection: a decoded line break followed by a header name (response splitting).
        if text.contains("\n"), (try? Self.headerInjection.firstMatch(in: text)) != nil {
            add(Finding(rule: 921_130, category: .protocolAnomaly, score: Self.critical), &verdict)
        }
    }

    private func add(_ finding: Finding, _ verdict: inout Verdict) {
        // A rule counts once however many places it matches.
        guard !verdict.findings.contains(where: { $0.rule == finding.rule }) else { return }
        verdict.findings.append(finding)
        verdict.score += finding.score
    }

    nonisolated(unsafe) static let headerInjection = try! Regex(
        #"[\r\n]\s*(?:set-cookie|location|content-type|content-length|refresh|x-[a-z-]+)\s*:"#)

    package static func split(_ target: String) -> (Substring, Substring?) {
        guard let mark = target.firstIndex(of: "?") else { return (target[...], nil) }
        return (target[..<mark], target[target.index(after: mark)...])
    }

    /// Bytes no clean path, header or value needs: percent signs, markup, quotes, brackets,
    /// shell and template characters, backslashes, control and non-ASCII bytes.
    private static let suspicious: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in Array("%<>'\"();`$\\{}|!\r\n\t".utf8) { table[Int(byte)] = true }
        for byte in 0..<32 { table[byte] = true }
        for byte in 127..<256 { table[byte] = true }
        return table
    }()

    package static func isSuspicious<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        var previousDot = false
        for byte in bytes {
            if suspicious[Int(byte)] { return true }
            let dot = byte == 0x2E
            if dot && previousDot { return true }  // ".."
            previousDot = dot
        }
        return false
    }

    /// Paths that name files attackers look for, without any unusual character.
    package static func hasRestrictedName(_ path: Substring) -> Bool {
        // Every restricted name holds one of these (compared without regard to ASCII case).
        restrictedMarks.contains { mark in ASCIICase.contains(path.utf8, mark) }
    }

    package static let restrictedMarks = ["/.", "etc/", "proc/", ".ini", "config", "system32", "id_rsa", "windows"].map { Array($0.utf8) }

    /// URL-decodes (and `+` as space for forms) and HTML-decodes until nothing changes (at most
    /// three rounds, against double encoding), lower-cases, drops NULs and SQL comments, turns
    /// backslashes into slashes and collapses whitespace.
    package static func normalize(_ text: String, form: Bool) -> String {
        var current = Array(text.utf8)
        for _ in 0..<3 {
            let decoded = htmlDecode(percentDecode(current, form: form))
            if decoded == current { break }
            current = decoded
        }
        var output: [UInt8] = []
        output.reserveCapacity(current.count)
        var index = 0
        var lastSpace = false
        while index < current.count {
            var byte = current[index]
            // /* comments */ become a space.
            if byte == 0x2F, index + 1 < current.count, current[index + 1] == 0x2A {
                var end = index + 2
                while end + 1 < current.count, !(current[end] == 0x2A && current[end + 1] == 0x2F) { end += 1 }
                index = min(end + 2, current.count)
                if !lastSpace { output.append(0x20) }
                lastSpace = true
                continue
            }
            index += 1
            if byte == 0 { continue }
            // Overlong UTF-8 for "/", "." and "\" (an old traversal evasion).
            if byte == 0xC0 || byte == 0xC1, index < current.count {
                let mapped: UInt8? = [0xC0AF: 0x2F, 0xC0AE: 0x2E, 0xC19C: 0x2F][UInt16(byte) << 8 | UInt16(current[index])]
                if let mapped {
                    index += 1
                    output.append(mapped)
                    lastSpace = false
                    continue
                }
            }
            if byte == 0x5C { byte = 0x2F }  // \ → /
            if (65...90).contains(byte) { byte += 32 }
            let space = byte == 0x20 || byte == 0x09 || byte == 0x0B || byte == 0x0C || byte == 0xA0
            if space {
                if !lastSpace { output.append(0x20) }
                lastSpace = true
                continue
            }
            lastSpace = false
            output.append(byte)
        }
        return String(decoding: output, as: UTF8.self)
    }

    package static func percentDecode(_ bytes: [UInt8], form: Bool) -> [UInt8] {
        guard bytes.contains(0x25) || (form && bytes.contains(0x2B)) else { return bytes }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x25 {
                // %uXXXX (IIS) for code points below 256.
                if index + 5 < bytes.count, bytes[index + 1] | 0x20 == 0x75, let high = hex(bytes[index + 2], bytes[index + 3]),
                    let low = hex(bytes[index + 4], bytes[index + 5])
                {
                    output.append(high == 0 ? low : 0x3F)
                    index += 6
                    continue
                }
                if index + 2 < bytes.count, let value = hex(bytes[index + 1], bytes[index + 2]) {
                    output.append(value)
                    index += 3
                    continue
                }
            }
            output.append(form && byte == 0x2B ? 0x20 : byte)
            index += 1
        }
        return output
    }

    package static let entities: [String: UInt8] = [
        "lt": 0x3C, "gt": 0x3E, "quot": 0x22, "apos": 0x27, "amp": 0x26, "sol": 0x2F, "bsol": 0x5C, "lpar": 0x28, "rpar": 0x29,
        "colon": 0x3A, "semi": 0x3B, "tab": 0x09, "newline": 0x0A, "equals": 0x3D, "grave": 0x60, "nbsp": 0x20,
    ]

    package static func htmlDecode(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(0x26) else { return bytes }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x26 else {
                output.append(byte)
                index += 1
                continue
            }
            // &name; &#NN; &#xNN; (the semicolon is optional for numbers, as browsers allow).
            var end = index + 1
            while end < bytes.count, end - index <= 10, bytes[end] != 0x3B, bytes[end] != 0x26, bytes[end] != 0x20 { end += 1 }
            let body = bytes[(index + 1)..<min(end, bytes.count)]
            var decoded: UInt8?
            if body.first == 0x23 {
                let digits = body.dropFirst()
                let hexForm = digits.first.map { $0 | 0x20 == 0x78 } ?? false
                let text = String(decoding: hexForm ? digits.dropFirst() : digits, as: UTF8.self)
                if let value = Int(text, radix: hexForm ? 16 : 10) { decoded = value < 256 ? UInt8(value) : 0x3F }
            } else {
                decoded = entities[String(decoding: body, as: UTF8.self).lowercased()]
            }
            if let decoded {
                output.append(decoded)
                index = end < bytes.count && bytes[end] == 0x3B ? end + 1 : end
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    private static func hex(_ high: UInt8, _ low: UInt8) -> UInt8? {
        func value(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x37
            case 0x61...0x66: byte - 0x57
            default: nil
            }
        }
        guard let high = value(high), let low = value(low) else { return nil }
        return high << 4 | low
    }
}

/// The managed WAF's recent verdicts on header values and paths, kept per event-loop thread so that no lock
/// is taken; bounded, and started over when full.
package final class HeaderVerdicts: @unchecked Sendable {  // only ever touched by the thread that owns it
    package struct Key: Hashable {
        package let level: Int
        package let name: String
        package let value: String
    }

    package static let capacity = 4096
    private var entries: [Key: [ManagedWAF.Finding]] = [:]
    private static let perThread = ThreadSpecificVariable<HeaderVerdicts>()

    package static var current: HeaderVerdicts {
        if let memo = perThread.currentValue { return memo }
        let memo = HeaderVerdicts()
        perThread.currentValue = memo
        return memo
    }

    package func findings(_ key: Key) -> [ManagedWAF.Finding]? { entries[key] }

    package func remember(_ key: Key, _ findings: [ManagedWAF.Finding]) {
        // Long values (pasted payloads) are judged every time rather than filling the memo.
        guard key.value.utf8.count <= 512 else { return }
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = findings
    }
}
