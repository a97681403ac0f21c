import Foundation

/// A plain-text email, rendered as an RFC 5322 message with a base64 UTF-8 body so that any
/// text survives any relay (no 8BITMIME needed, no line-length or dot-stuffing surprises).
public struct MailMessage: Sendable, Equatable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String

    public init(from: String, to: [String], subject: String, text: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
    }

    /// The envelope sender: the address inside `Name <address>`, or the whole string.
    public var envelopeFrom: String { Self.address(in: from) }

    static func address(in mailbox: String) -> String {
        if let open = mailbox.lastIndex(of: "<"), let close = mailbox.lastIndex(of: ">"), open < close {
            return String(mailbox[mailbox.index(after: open)..<close])
        }
        return mailbox.trimmingCharacters(in: .whitespaces)
    }

    /// The message as sent in DATA, with CRLF line ends.
    public func rendered(date: Date = Date(), messageID: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let body = Data(text.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let headers = [
            "From: \(Self.headerSafe(from))",
            "To: \(to.map(Self.headerSafe).joined(separator: ", "))",
            "Subject: \(Self.encodedWord(subject))",
            "Date: \(formatter.string(from: date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
        ]
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + body + "\r\n"
    }

    /// Header values never carry line breaks (header injection).
    static func headerSafe(_ value: String) -> String {
        value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// RFC 2047 encoded word for non-ASCII subjects.
    static func encodedWord(_ value: String) -> String {
        let safe = headerSafe(value)
        if safe.unicodeScalars.allSatisfy({ $0.isASCII }) { return safe }
        return "=?UTF-8?B?\(Data(safe.utf8).base64EncodedString())?="
    }
}
