import DCDNCore
import FluentKit
import Foundation
import Logging
import NIOSSL
import SMTPKit

/// The one way the coordinator sends mail. Production relays through SMTP; `dcdn dev` keeps
/// every mail in the outbox so a newcomer can read it in the dashboard.
public protocol OutboundMailer: Sendable {
    func send(_ message: MailMessage) async throws
}

/// Sends through the operator's SMTP relay.
public struct SMTPMailer: OutboundMailer {
    let client: SMTPClient

    public init(settings: MailSettings, relayHost: String) {
        client = SMTPClient(
            host: relayHost, port: settings.relayPort,
            tls: SMTPClient.TLSMode(rawValue: settings.tls.rawValue) ?? .starttls,
            username: settings.username, password: settings.password,
            trustRoots: settings.caFile.map { .file($0) })
    }

    public func send(_ message: MailMessage) async throws {
        try await client.send(message)
    }
}

/// Keeps mail in the database (dev mode).
public struct OutboxMailer: OutboundMailer {
    let database: DatabaseStore

    public func send(_ message: MailMessage) async throws {
        try await OutboxMessage(sender: message.from, recipients: message.to, subject: message.subject, body: message.text)
            .create(on: database.db)
    }
}

/// A production coordinator without a relay cannot send; it says so in the log for each mail
/// instead of pretending, and the operator sees the reason in `docs/configuration.md`.
public struct UnconfiguredMailer: OutboundMailer {
    let logger: Logger

    public func send(_ message: MailMessage) async throws {
        logger.error(
            "mail not sent: no SMTP relay configured (set DCDN_SMTP_RELAY_HOST)",
            metadata: ["to": "\(message.to.joined(separator: ","))", "subject": "\(message.subject)"])
        throw SMTPError(stage: "configuration", reply: nil, message: "no SMTP relay configured")
    }
}
