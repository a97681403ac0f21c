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
        case ldapInjection = "ldap_injection"
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
            // Unicode scalars, not Characters: "\r\n" is one Character, which `[\r\n]` never matches.
            self.pattern = pattern.map { try! Regex($0).matchingSemantics(.unicodeScalar) }
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
        package init() {}
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
        // A quote closed, then OR/AND and a comparison or a boolean: not `"yes" or "no"` in a sentence.
        Rule(
            942_131, .sqlInjection, level: 1, score: critical,
            pattern:
                #"['"`]\s*\)*\s*(?:or|and|xor|\|\||&&)\s*(?:['"`(][^'"`]{0,30}['"`)]?\s*(?:=|<|>|like\b|is\b|rlike\b)|true\b|false\b|not\s|\d+\s*(?:--|#|$))"#
        ),
        // String concatenation that closes and reopens a literal: 1'||'a'||'.
        Rule(942_133, .sqlInjection, level: 1, score: critical, pattern: #"['"]\s*\|\|\s*['"][^'"]*['"]\s*\|\|"#, hint: "||"),
        // A value that starts with a clause an injected tail uses: HAVING 1=1, ORDER BY 3--.
        Rule(
            942_134, .sqlInjection, level: 1, score: critical,
            pattern: #"^\s*(?:having\s+\d+\s*[=<>]|(?:order|group)\s+by\s+\d+\s*(?:--|#|;|$)|rlike\s*\(\s*select|if\s*\(\s*\d+\s*[=<>])"#),
        Rule(942_132, .sqlInjection, level: 1, score: critical, pattern: #"\b(?:or|and)\s+\d+\s*[=<>]+\s*\d+"#),
        Rule(
            942_160, .sqlInjection, level: 1, score: critical,
            any: ["sleep(", "benchmark(", "pg_sleep(", "waitfor delay", "dbms_pipe.receive_message", "randomblob("]),
        Rule(
            942_140, .sqlInjection, level: 1, score: error,
            any: ["information_schema", "sysobjects", "syscolumns", "mysql.user", "pg_catalog", "sqlite_master", "msysaccessobjects"]),
        Rule(942_150, .sqlInjection, level: 1, score: critical, any: ["load_file(", "into outfile", "into dumpfile", "xp_cmdshell"]),
        Rule(
            942_350, .sqlInjection, level: 1, score: critical,
            // Stacked after a closed literal or a number: `1; DROP TABLE x`, `'; exec …`, not a
            // snippet of several statements.
            pattern:
                #"(?:['"]|\b\d+)\s*\)*\s*;\s*(?:drop|alter|create|truncate|delete|insert|update|shutdown|exec|declare|select|waitfor)\s"#,
            hint: ";"),
        // A quote closed, then a comment or a terminator ending the query: `admin'--`, `' #`, `');`
        // — not `(closed on Mondays);` or `"#1 bestseller"` in prose.
        Rule(
            942_440, .sqlInjection, level: 1, score: critical,
            pattern:
                #"['"`]\s*\)*\s*(?:--|/\*|#\s*(?:$|[\r\n])|;\s*(?:--|#|(?:select|drop|insert|update|delete|exec|declare|shutdown|union|waitfor)\b))"#
        ),
        Rule(
            942_151, .sqlInjection, level: 2, score: critical,
            any: ["extractvalue(", "updatexml(", "@@version", "version()", "group_concat(", "concat(0x", "char(0x", "user()", "database()"]),
        // A column list (star, number, NULL, identifiers with commas or calls) or `select x from y`:
        // English "select the best option from the list" is no query.
        Rule(
            942_200, .sqlInjection, level: 2, score: critical,
            // …after a closed literal, a number or a parenthesis (a subquery): where an injection
            // puts it. A statement that opens a code snippet in a CMS field is content.
            pattern:
                #"(?:['")]|\b\d+|\()\s*(?:(?:union(?:\s+all|\s+distinct)?|and|or|having|where|=)\s*\(?\s*)?select\s+(?:(?:\*|\d+|null|@@[\w.]+|distinct\s+[\w.]+|[\w.`"\[\]]+)\s*(?:,|\(|\s+from\s+[\w.`"\[\]]+)|top\s+\d|case\s+when)"#,
            hint: "select"),
        Rule(
            942_201, .sqlInjection, level: 2, score: critical,
            pattern: #"(?:['"]|\b\d+)\s*\)*\s*;?\s*(?:insert\s+into|delete\s+from|drop\s+(?:table|database|function|procedure))\b"#),
        Rule(942_450, .sqlInjection, level: 3, score: warning, pattern: #"\b0x[0-9a-f]{8,}"#, hint: "0x"),
        Rule(942_460, .sqlInjection, level: 3, score: notice, any: ["'"]),
        // Cross-site scripting
        Rule(941_110, .xss, level: 1, score: critical, any: ["<script", "</script"]),
        // A script URL: the scheme followed by code, not "JavaScript: Basics of JavaScript" in a title.
        Rule(
            941_170, .xss, level: 1, score: critical, any: ["data:text/html"],
            pattern: #"(?:java|vb|live)script\s*:(?:[^\s]|\s+[a-z_$][\w$.]*\s*[(`=\[])"#, hint: "script"),
        Rule(
            941_120, .xss, level: 1, score: critical,
            pattern:
                #"[\s/"'<]on(?:error|load|mouseover|mouseout|mouseenter|focus|focusin|blur|click|dblclick|animationstart|animationend|toggle|begin|pageshow|submit|input|keydown|keyup|keypress|change|wheel|pointerover|transitionend|unload|resize|scroll)\s*="#,
            hint: "on"),
        Rule(
            941_160, .xss, level: 1, score: critical, any: ["<iframe", "<frameset", "<applet", "<meta http-equiv", "<base href", "srcdoc="]),
        Rule(941_161, .xss, level: 1, score: error, any: ["<object", "<embed", "<svg", "<math", "<form action", "<img src=x"]),
        // The cookie or domain read as code (followed by an operator, a bracket or nothing), not
        // "document.cookie explained".
        Rule(
            941_180, .xss, level: 1, score: critical, any: ["document.write(", "window.location=", "document.location="],
            pattern: #"document\s*\.\s*(?:cookie|domain)\s*(?:$|[^\s\w]|\s+[-+=;,)\]])"#, hint: "document"),
        Rule(
            941_190, .xss, level: 2, score: critical, any: ["string.fromcharcode", "atob(", "-moz-binding"],
            pattern: #"\b(?:alert|prompt|confirm)\s*\(\s*[^)\s]"#, hint: "("),
        Rule(941_191, .xss, level: 2, score: error, any: ["eval(", "expression(", "settimeout(", "setinterval(", "innerhtml"]),
        // JavaScript's other call forms: `(alert)(1)`, alert`1`, alert.call(…), a global by its
        // name in brackets (document["cookie"], window['alert']), constructor chains.
        Rule(
            941_390, .xss, level: 1, score: critical,
            pattern:
                #"\(\s*(?:alert|prompt|confirm|eval|settimeout|setinterval|fetch|import)\s*\)\s*[(`]|\b(?:alert|prompt|confirm|eval)\s*(?:`|\.\s*(?:call|apply|bind)\s*\()|\b(?:document|window|self|top|parent|frames|globalthis|this)\s*\[\s*['"`]\s*(?:cookie|alert|eval|prompt|confirm|location|domain|write|constructor|atob)|\b(?:window|self|top|parent|frames|globalthis)\s*\[[^\]]{1,80}\]\s*[(`]|constructor\s*(?:\.\s*constructor|\[\s*['"`]constructor)|\[\s*\]\s*\.\s*(?:constructor|filter|map)\s*\.\s*constructor|,\s*(?:alert|eval|prompt|confirm)\s*\)\s*\(|\b(?:alert|eval|prompt|confirm)\s*\?\.\s*\(|\.\s*(?:find|map|filter|foreach|some|every|call)\s*\(\s*(?:alert|eval|prompt|confirm)\s*\)|=\s*(?:alert|eval|prompt|confirm)\s*[,;}]|reflect\s*\.\s*apply\s*\(\s*(?:alert|eval|prompt|confirm)|\bimport\s*\(\s*['"`]\s*(?://|https?:|data:)|(?:settimeout|setinterval|function)\s*`|\[\s*['"`]\s*document\s*['"`]\s*\]|onerror\s*=\s*(?:alert|eval|prompt|confirm)"#
        ),
        Rule(941_320, .xss, level: 3, score: warning, pattern: #"<[a-z!/?]"#, hint: "<"),
        // Path traversal and local files
        // Two levels up, or Tomcat's /..;/ — one "../" alone is how documentation writes a relative
        // path; it counts as an error and blocks with any other finding.
        Rule(930_100, .pathTraversal, level: 1, score: critical, any: ["../../", "/..;/", "../."]),
        Rule(930_101, .pathTraversal, level: 1, score: error, any: ["../"]),
        Rule(930_121, .pathTraversal, level: 1, score: error, any: ["/etc/hosts", "/etc/group", "/etc/issue"]),
        Rule(
            930_120, .pathTraversal, level: 1, score: critical,
            any: [
                "etc/passwd", "etc/shadow", "/proc/self/", "boot.ini", "win.ini", "system32/",
                "/windows/system", "c:/windows", "c:/inetpub", "global.asa", "desktop.ini", "/winnt/",
            ]),
        Rule(
            930_130, .pathTraversal, level: 1, score: critical,
            any: [
                "/.git/", "/.svn/", "/.hg/", "/.env", ".htaccess", ".htpasswd", "/web.config", "wp-config.php", "/.aws/credentials",
                "id_rsa",
            ]
        ),
        // Remote file inclusion and wrappers
        Rule(
            931_100, .fileInclusion, level: 1, score: critical,
            any: ["php://", "file://", "zip://", "phar://", "expect://", "glob://", "data://", "jar:", "gopher://", "dict://"]),
        Rule(
            931_110, .fileInclusion, level: 1, score: critical,
            pattern: #"(?:^|[=\"'])\s*(?:https?|ftp)://\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"#,
            hint: "://"),
        Rule(
            931_120, .fileInclusion, level: 2, score: critical, pattern: #"(?:^|[=\"'])\s*(?:https?|ftp)://[^&\s]*\?+(?:&|$)"#, hint: "://"),
        Rule(931_130, .fileInclusion, level: 3, score: warning, pattern: #"(?:^|[=\"'])\s*(?:https?|ftp)://"#, hint: "://"),
        // A value that is a URL (or protocol-relative, or UNC) of a script or text file: what an
        // include() fetches. Data URLs of anything but images.
        Rule(
            931_140, .fileInclusion, level: 2, score: critical,
            pattern:
                #"^\s*(?:(?:https?|ftp):)?//[^\s/?#]+/[^\s?#]*\.(?:txt|php\d?|phtml|inc|sh|pl|py|jsp|aspx?|cgi)(?:$|[?#%\s])|^\s*data:(?!image/)[\w.+-]+/[\w.+-]+;base64,"#
        ),
        Rule(930_140, .pathTraversal, level: 2, score: critical, any: ["/var/log/", "/var/lib/php/", "access.log", "/proc/self/environ"]),
        Rule(933_100, .remoteCode, level: 1, score: critical, any: ["<?php", "<?=", "<% "]),
        // Remote code execution
        Rule(
            932_100, .remoteCode, level: 1, score: critical,
            pattern:
                // After a separator; a backtick counts where it opens a substitution (`id`, x`id`),
                // not Markdown's inline code after a space or a ``` fence.
                #"(?:;|\||&|\$\(|(?:^|[^\s`])`(?!`))\s*(?:/(?:usr/)?s?bin/)?(?:cat|ls|id|whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|python3?|perl|php|ruby|ping|nslookup|echo|rm|chmod|powershell|cmd|telnet|busybox|netstat|ifconfig|sleep|xterm|crontab|useradd)\b"#
        ),
        Rule(
            932_150, .remoteCode, level: 1, score: critical,
            any: ["/bin/sh", "/bin/bash", "/usr/bin/", "powershell -", "/dev/tcp/", "/bin/ls", "/bin/cat"],
            // Globs that spell a path: /???/??t /???/p??s??
            pattern: #"/[?*]{2,}[a-z?*]*/|/[?*]+[a-z]*[?*]+[a-z]*\s+/"#, hint: "?"),
        Rule(
            944_150, .remoteCode, level: 1, score: critical, scope: .contentAndHeaders,
            any: ["${jndi:", "${${", "${env:", "${lower:", "${upper:", "${sys:", "${j${", "${::-"],
            // Nested lookups that spell jndi in pieces: ${j${k8s:k5:-ND}i…
            pattern: #"\$\{[a-z0-9]{0,10}\$\{[^}]{0,40}:-"#, hint: "${"),
        // Shellshock: a value that starts as a function definition (`() { :; };`), as CGI passes it
        // to bash — not `App() {` in a code snippet.
        Rule(932_170, .remoteCode, level: 1, score: critical, scope: .contentAndHeaders, pattern: #"^\s*\(\s*\)\s*\{"#, hint: "("),
        Rule(
            933_150, .remoteCode, level: 1, score: critical,
            any: [
                "system(", "passthru(", "shell_exec(", "popen(", "proc_open(", "base64_decode(", "pcntl_exec(", "assert(",
                "call_user_func(", "phpinfo(", "file_get_contents(", "file_put_contents(", "readfile(", "show_source(", "highlight_file(",
                "fsockopen(", "create_function(", "str_rot13(", "gzinflate(", "php_uname(", "$_get[", "$_post[", "$_request[", "$_server[",
                "$_cookie[", "$_files[", "$_env[", "$globals[",
            ],
            // PHP's exec() on a string, not a regex's .exec() in JavaScript.
            pattern: #"(?:^|[^.\w$])exec\s*\(\s*['"]"#, hint: "exec"),
        // Windows shell after a separator: cmd built-ins and the tools attacks use.
        Rule(
            932_110, .remoteCode, level: 1, score: critical,
            pattern:
                #"(?:\||&|;|\r|\n)\s*(?:set\s+/[ap]\b|dir\s+(?:[a-z]:|/|\\|%)|type\s+(?:[a-z]:|%|\\)|net\s+(?:user|localgroup|view|share)\b|ipconfig\b|systeminfo\b|tasklist\b|certutil\b|bitsadmin\b|wmic\b|reg\s+(?:query|add)\b|ver\s*(?:$|[&|;])|ping\s+-n\b|cmd(?:\.exe)?\s+/[ck]\b|powershell\b|timeout\s+/t\b|whoami\b)"#
        ),
        Rule(932_120, .remoteCode, level: 1, score: critical, any: ["%comspec%", "%systemroot%", "%windir%", "cmd /c ", "cmd.exe /c"]),
        Rule(932_200, .remoteCode, level: 2, score: error, any: ["$("]),
        // Backticks are Markdown's inline code as much as shell substitution: a warning, at high.
        Rule(932_210, .remoteCode, level: 3, score: warning, any: ["`"]),
        // Server-side template injection: FreeMarker, Jinja2, Twig, ERB, Velocity, Java EL and
        // Thymeleaf forms that reach objects or run code, and the probes (7*7) that find them.
        Rule(
            934_100, .remoteCode, level: 1, score: critical,
            any: [
                "__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__", "__import__", "<#assign", "freemarker.template",
                "?new()", "_self.env", "registerundefinedfiltercallback", "getfilter(", "java.lang.runtime", "java.lang.processbuilder",
                "t(java.lang", ".getclass().forname", "#set($", "$class.inspect", "lipsum.__", "cycler.__", "joiner.__",
                "request.application.__", "self._templatereference", "config.__class__", "|attr(", "{{dump(", "{{app.request",
                "{{config.", "{{request.", "{{self.", "filter('system')", "sort('system')", "map('system')", "{$smarty",
                "child_process", ".execsync(", "mainmodule.require", "dir.entries(", "io.popen(", "{{range.constructor",
                "${@phpinfo", "${@system", "php:function",
            ]),
        Rule(
            934_110, .remoteCode, level: 1, score: critical,
            pattern:
                #"(?:\{\{|\$\{|#\{|\*\{|<%=?|\{%|\$\{\{)\s*[-+]?['"]?\d+['"]?\s*[*+/-]\s*[-+]?['"]?\d+['"]?\s*(?:\}\}|\}|%>|%\})|<%=?\s*(?:system|exec|spawn|eval|io\.popen|file\.read|`)|\{%\s*(?:import|include|set|for)\s[^%]*(?:\bos\.|subprocess|popen\(|system\(|__)"#
        ),
        // LDAP filter injection: a filter closed and another opened, or a wildcard closing one.
        Rule(
            938_100, .ldapInjection, level: 1, score: critical,
            pattern:
                #"\)\s*\(+\s*[|&!]|\)\s*\)\s*\(\s*[|&]|\*\s*\(\s*\)\s*\|\s*&|\)\s*\(\s*[&|]\s*\)|\)\s*\(\s*[|&!]\s*\(?\s*[a-z][\w-]*\s*[~<>]?=|\*\s*\)\s*\(\s*[|&!]?\s*\(?\s*[a-z][\w-]*\s*[~<>]?=|\(\s*[|&]\s*\(\s*[a-z][\w-]*\s*[~<>]?=|\(\s*objectclass\s*=\s*\*\s*\)"#,
            hint: "("),
        // XML external entities.
        Rule(
            939_100, .fileInclusion, level: 1, score: critical,
            pattern: #"<!(?:doctype|entity)[^>]*\b(?:system|public)\b|<!entity\s"#, hint: "<!"),
        // NoSQL (MongoDB) operators where values go, and JavaScript tautologies in $where.
        Rule(
            942_290, .sqlInjection, level: 1, score: critical,
            any: ["$where", "this.password", "db.getcollection", "[$ne]", "[$gt]", "[$regex]", "[$nin]", "[$exists]", "[$or]"],
            pattern:
                #"[{,]\s*['"]?\$(?:ne|gt|gte|lt|lte|regex|in|nin|or|and|exists|expr|elemmatch|not)\b['"]?\s*:|\|\|\s*\d+\s*==\s*\d+|['"]\s*(?:\|\||&&)\s*['"][^'"]*['"]\s*==|\|\|\s*['"]\w*['"]\s*==\s*['"]"#,
            hint: nil),
        Rule(932_230, .remoteCode, level: 3, score: warning, any: ["{{", "}}", "<%="]),
        // Scanners (User-Agent)
        Rule(
            913_100, .scanner, level: 1, score: critical, scope: .userAgent,
            any: [
                "sqlmap", "nikto", "nmap", "masscan", "acunetix", "nessus", "wpscan", "dirbuster", "gobuster", "nuclei", "zgrab", "w3af",
                "openvas", "havij", "netsparker", "appscan", "arachni", "jaeles", "ffuf", "feroxbuster", "wfuzz", "whatweb", "zmeu",
                "morfeus", "commix", "paros", "webinspect", "qualys", "burpcollaborator", "dirsearch", "sqlninja", "bsqlbf", "brutus",
                "fimap", "grabber", "jbrofuzz", "mysqloit", "n-stealth", "nsauditor", "pangolin", "webshag", "x-scan", "owasp zap",
                "zaproxy", "skipfish", "vega/", "wapiti", "grendel-scan", "dotdotpwn", "httprint", "webreaper", "xray", "goby",
                "tsunami", "interactsh", "l9explore", "l9tcpid", "leakix", "zmap", "censysinspect", "nmap nse", "masscan",
                "absinthe", "bfac", "blackwidow", "cgichk", "crimscanner", "datacha0s", "hydra", "metis",
                "netsparker", "openvas", "nessus", "s.t.a.l.k.e.r.", "teh forest lobster", "this is an exploit", "toata dragostea",
                "webvulnscan", "whcc/", "wpscan", "fuzz faster u fool", "jorgee", "nuclei", "gobuster", "feroxbuster", "detectify",
                "struts-pwn", "dotdotpwn", "nmap scripting engine", "sqlsus", "pmafind", "webfuzzer", "fuxxer",
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
                remembered(name, value, &verdict) { fresh in
                    check(Self.normalize(value, form: false), rules: rules, &fresh, singleLine: true)
                }
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
                check(Self.normalize(String(path), form: false), rules: contentRules, &fresh, singleLine: true)
            }
        }
        if let query, !query.isEmpty {
            let arguments = query.split(separator: "&", omittingEmptySubsequences: true)
            if arguments.count > 255 { add(Finding(rule: 920_380, category: .protocolAnomaly, score: Self.critical), &verdict) }
            checkArguments(arguments, &verdict, singleLine: true)
        }
        if let body, !body.isEmpty {
            inspectBody(body, contentType: headers.first(where: { $0.0 == "content-type" })?.1, &verdict)
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

    /// Adds a request body's findings to the verdict its head got (`inspect` without a body): one
    /// request, one anomaly score. `body` is the first `bodyLimit` bytes; `contentType` the
    /// request's, which says which encodings the origin will decode (`BodyDecoding`).
    package func inspectBody(_ body: [UInt8], contentType: String?, adding head: Verdict) -> Verdict {
        var verdict = head
        guard isOn, !body.isEmpty else { return verdict }
        inspectBody(body, contentType: contentType, &verdict)
        return verdict
    }

    private func inspectBody(_ body: [UInt8], contentType: String?, _ verdict: inout Verdict) {
        for part in BodyDecoding.parts(of: body, contentType: contentType) {
            switch part {
            case .form(let text):
                checkArguments(text.split(separator: "&", omittingEmptySubsequences: true), &verdict, singleLine: false)
            case .text(let text):
                check(Self.normalize(text, form: false), rules: contentRules, &verdict)
            }
        }
    }

    /// Each `name=value` of a query or form on its own, percent- and `+`-decoded: a rule sees
    /// one value at a time, as the origin's framework hands them over (so `&dir=asc` is no
    /// Windows `& dir`). A name that is not a plain identifier is read with its value, whole: in
    /// `?' OR 1=1--` the "name" is half the attack.
    /// `singleLine`: values where a line break has no business (a query, as against a textarea).
    private func checkArguments(_ arguments: [Substring], _ verdict: inout Verdict, singleLine: Bool) {
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else {
                check(Self.normalize(String(argument), form: true), rules: contentRules, &verdict, singleLine: singleLine)
                continue
            }
            let name = argument[..<equals]
            let value = argument[argument.index(after: equals)...]
            if name.utf8.allSatisfy(Self.isIdentifierByte) {
                if !value.isEmpty {
                    check(Self.normalize(String(value), form: true), rules: contentRules, &verdict, singleLine: singleLine)
                }
            } else {
                check(Self.normalize(String(argument), form: true), rules: contentRules, &verdict, singleLine: singleLine)
            }
        }
    }

    /// Letters, digits and `_ . - [ ]`: what parameter names are made of (`items[0].id`).
    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "["), UInt8(ascii: "]"): true
        default: false
        }
    }

    /// Bodies the WAF reads: forms, multipart forms, JSON, XML and text, as the Core Rule Set's
    /// body processors. Uploads (images, archives, octet streams) pass uninspected: their bytes
    /// are not text.
    package static func inspectsBody(contentType: String?) -> Bool {
        let (type, _) = BodyDecoding.mediaType(contentType)
        return !type.isEmpty && (type == "multipart/form-data" || BodyDecoding.decoded([], type: type) != nil)
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

    /// Runs `rules` on a normalised value. `singleLine`: the value came where a line break has no
    /// business (path, query, header), so a line break before anything header-shaped is injection.
    private func check(_ text: String, rules: [Rule], _ verdict: inout Verdict, singleLine: Bool = false) {
        for rule in rules where rule.matches(text) {
            add(Finding(rule: rule.id, category: rule.category, score: rule.score), &verdict)
        }
        // CR LF injection: a decoded line break followed by a header name (response splitting) or
        // a mail-protocol command (IMAP/SMTP injection). Bytes, since "\r\n" is one Character.
        if text.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) || text.unicodeScalars.contains(where: Self.isFoldedLineBreak) {
            if (try? Self.headerInjection.firstMatch(in: text)) != nil
                || (singleLine && (try? Self.headerLine.firstMatch(in: text)) != nil)
            {
                add(Finding(rule: 921_130, category: .protocolAnomaly, score: Self.critical), &verdict)
            }
            if (try? Self.mailInjection.firstMatch(in: text)) != nil {
                add(Finding(rule: 921_140, category: .protocolAnomaly, score: Self.critical), &verdict)
            }
            // A line break is a shell's separator too, where a value has no business holding one.
            if singleLine, (try? Self.commandLine.firstMatch(in: text)) != nil {
                add(Finding(rule: 932_105, category: .remoteCode, score: Self.critical), &verdict)
            }
        }
    }

    private func add(_ finding: Finding, _ verdict: inout Verdict) {
        // A rule counts once however many places it matches.
        guard !verdict.findings.contains(where: { $0.rule == finding.rule }) else { return }
        verdict.findings.append(finding)
        verdict.score += finding.score
    }

    nonisolated(unsafe) static let headerInjection = try! Regex(
        #"[\r\n\x{560a}\x{560d}]\s*(?:set-cookie|location|content-type|content-length|content-disposition|refresh|host|access-control-[a-z-]+|x-[a-z-]+)\s*:|[\r\n]\s*(?:cc|bcc|to|from|reply-to|sender)\s*:[^\r\n]*@"#
    ).matchingSemantics(.unicodeScalar)
    /// A shell command after a line break, for values that should have no line break.
    nonisolated(unsafe) static let commandLine = try! Regex(
        #"[\r\n]\s*(?:/(?:usr/)?s?bin/)?(?:cat|ls|id|whoami|uname|wget|curl|nc|ncat|bash|sh|python3?|perl|php|ping|nslookup|echo|rm|chmod|netstat|ifconfig|sleep)\b"#
    ).matchingSemantics(.unicodeScalar)
    /// Any header-shaped line after a line break, for values that should have no line break.
    nonisolated(unsafe) static let headerLine = try! Regex(#"[\r\n\x{560a}\x{560d}]\s*[a-z][a-z0-9-]{1,40}\s*:"#)
        .matchingSemantics(.unicodeScalar)
    /// U+560A and U+560D: servers that keep only the low byte of a code point read them as LF and
    /// CR (the "嘊嘍" response-splitting trick).
    static func isFoldedLineBreak(_ scalar: Unicode.Scalar) -> Bool { scalar.value == 0x560A || scalar.value == 0x560D }
    /// Mail-protocol commands after a line break: IMAP (a tag with a digit, then a command) and
    /// SMTP (MAIL FROM:, RCPT TO:, HELO host, or DATA / QUIT alone on a line). Prose in a textarea
    /// has line breaks too, hence the shapes only a protocol line has.
    nonisolated(unsafe) static let mailInjection = try! Regex(
        #"[\r\n]\s*(?:[a-z]{0,5}\d{1,6}\s+(?:capability|login|select|examine|create|delete|rename|subscribe|list|lsub|status|append|expunge|search|fetch|store|copy|uid|logout|authenticate|noop)\b|(?:mail\s+from|rcpt\s+to)\s*:|(?:helo|ehlo)\s+[a-z0-9.-]+\s*(?:$|[\r\n])|(?:data|quit|rset|starttls)\s*(?:$|[\r\n])|(?:vrfy|expn)\s+[\w.@-]+\s*(?:$|[\r\n])|auth\s+(?:login|plain|cram-md5|xoauth2)\b)"#
    ).matchingSemantics(.unicodeScalar)

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
            if byte == 0x2F, index + 1 < current.count, current[index + 1] == 0x2A {
                if index + 2 < current.count, current[index + 2] == 0x21 {
                    // MySQL's executable comment /*!50000 UNION*/: the database runs its content,
                    // so only the markers (and the version number) go.
                    index += 3
                    while index < current.count, (0x30...0x39).contains(current[index]) { index += 1 }
                    if !lastSpace { output.append(0x20) }
                    lastSpace = true
                    continue
                }
                // Any other /* comment */ is whitespace to SQL, CSS and JavaScript alike. One that
                // never closes (`admin'/*`) comments out the rest of a query: it stays visible.
                var end = index + 2
                while end + 1 < current.count, !(current[end] == 0x2A && current[end + 1] == 0x2F) { end += 1 }
                if end + 1 >= current.count {
                    output += [0x2F, 0x2A]
                    index += 2
                    lastSpace = false
                    continue
                }
                index = end + 2
                if !lastSpace { output.append(0x20) }
                lastSpace = true
                continue
            }
            if byte == 0x2A, index + 1 < current.count, current[index + 1] == 0x2F {
                // The end of an executable comment (or a stray one): the content stays.
                index += 2
                if !lastSpace { output.append(0x20) }
                lastSpace = true
                continue
            }
            index += 1
            if byte == 0 { continue }
            // Overlong UTF-8 (C0 AF for "/", C0 AE for "."; E0 80 AF likewise): lenient decoders
            // read them as the ASCII character they spell, so they are read so here.
            if byte == 0xC0 || byte == 0xC1, index < current.count, current[index] & 0xC0 == 0x80 {
                byte = (byte & 0x1F) << 6 | (current[index] & 0x3F)
                index += 1
            } else if byte == 0xE0, index + 1 < current.count, current[index] & 0xFE == 0x80, current[index + 1] & 0xC0 == 0x80 {
                byte = (current[index] & 0x01) << 6 | (current[index + 1] & 0x3F)
                index += 2
            }
            if byte == 0 { continue }
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
