import FluentKit
import Foundation
import Hummingbird

/// `dcdn dev` only: the mail the platform would have sent, like Mailpit. Open on loopback so a
/// newcomer can click the verification link before having an account.
struct DevOutboxController {
    let store: DatabaseStore

    struct MessageResponse: ResponseCodable {
        var id: UUID
        var from: String
        var to: [String]
        var subject: String
        var body: String
        var createdAt: Date?

        init(_ message: OutboxMessage) {
            id = message.id!
            from = message.sender
            to = message.recipients
            subject = message.subject
            body = message.body
            createdAt = message.createdAt
        }
    }
    struct MessageList: ResponseCodable {
        var messages: [MessageResponse]
        var total: Int
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("dev/outbox") { request, _ -> MessageList in
            let page = try Page(request)
            // The dev outbox is small; filtering the recipients array here keeps the query portable.
            var messages = try await OutboxMessage.query(on: store.db).sort(\.$createdAt, .descending).all()
            if let to = request.uri.queryParameters["to"].map({ String($0).lowercased() }) {
                messages = messages.filter { $0.recipients.contains(to) }
            }
            let total = messages.count
            messages = Array(messages.dropFirst(page.offset).prefix(page.limit))
            return MessageList(messages: messages.map(MessageResponse.init), total: total)
        }
    }
}

/// The dev outbox in the dashboard.
struct DevDashboard {
    let renderer: DashboardRenderer
    let store: DatabaseStore

    func addRoutes(to dashboard: RouterGroup<AppRequestContext>) {
        dashboard.get("outbox") { _, context in
            let messages = try await OutboxMessage.query(on: store.db).sort(\.$createdAt, .descending).limit(200).all()
            let rows = messages.map { message -> [String: Any] in
                [
                    "id": message.id!.uuidString, "to": message.recipients.joined(separator: ", "), "subject": message.subject,
                    "created": DashboardRenderer.format(message.createdAt),
                ]
            }
            return renderer.page(
                "outbox", title: "Dev outbox", identity: context.identity, active: "outbox",
                ["messages": rows, "hasMessages": !rows.isEmpty])
        }
        dashboard.get("outbox/:id") { _, context in
            guard let message = try await OutboxMessage.find(try context.parameters.uuid("id", what: "Message"), on: store.db)
            else {
                throw APIError.notFound("Message")
            }
            return renderer.page(
                "outbox_message", title: message.subject, identity: context.identity, active: "outbox",
                [
                    "subject": message.subject, "from": message.sender, "to": message.recipients.joined(separator: ", "),
                    "created": DashboardRenderer.format(message.createdAt), "lines": Self.linkify(message.body),
                ])
        }
    }

    /// Splits a plain-text body into lines of text and link segments, so the template can make
    /// links clickable while escaping everything else.
    static func linkify(_ body: String) -> [[String: Any]] {
        body.components(separatedBy: "\n").map { line in
            let segments = line.split(separator: " ", omittingEmptySubsequences: false).map { word -> [String: Any] in
                let isLink = word.hasPrefix("http://") || word.hasPrefix("https://")
                return ["text": String(word), "isLink": isLink]
            }
            return ["segments": segments]
        }
    }
}
