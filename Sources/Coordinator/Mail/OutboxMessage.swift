import FluentKit
import Foundation

/// A mail kept instead of sent (`dcdn dev`), readable in the dashboard and at `/api/v1/dev/outbox`.
public final class OutboxMessage: Model, @unchecked Sendable {
    public static let schema = "outbox_messages"

    @ID(key: .id) public var id: UUID?
    @Field(key: "sender") public var sender: String
    @Field(key: "recipients") public var recipients: [String]
    @Field(key: "subject") public var subject: String
    @Field(key: "body") public var body: String
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    public init(sender: String, recipients: [String], subject: String, body: String) {
        self.sender = sender
        self.recipients = recipients
        self.subject = subject
        self.body = body
    }
}
