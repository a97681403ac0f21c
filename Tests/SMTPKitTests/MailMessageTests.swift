import Foundation
import Testing

@testable import SMTPKit

@Suite("Mail messages")
struct MailMessageTests {
    @Test("rendered with RFC 5322 headers, CRLF and a base64 UTF-8 body")
    func rendering() throws {
        let message = MailMessage(
            from: "DCDN <no-reply@dcdn.test>", to: ["a@example.com"], subject: "Grüße", text: "Hello\n.dot line\nünïcode")
        let rendered = message.rendered(date: Date(timeIntervalSince1970: 0), messageID: "id@dcdn")
        #expect(rendered.contains("From: DCDN <no-reply@dcdn.test>\r\n"))
        #expect(rendered.contains("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"))
        #expect(rendered.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        let body = try #require(rendered.components(separatedBy: "\r\n\r\n").last)
        let decoded = Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: ""))
        #expect(decoded.map { String(decoding: $0, as: UTF8.self) } == "Hello\n.dot line\nünïcode")
        #expect(message.envelopeFrom == "no-reply@dcdn.test")
    }

    @Test("line breaks cannot inject headers")
    func headerInjection() {
        let message = MailMessage(from: "a@example.com", to: ["b@example.com"], subject: "Hi\r\nBcc: victim@example.com", text: "")
        let rendered = message.rendered(messageID: "x@dcdn")
        #expect(!rendered.contains("\r\nBcc:"))
    }
}
