import Foundation
import OpenAPIKit

/// dcdn dev's outbox: mail kept instead of sent.
extension OpenAPIDocument {
    static func mailOperations(isDev: Bool) -> [Operation] {
        guard isDev else { return [] }
        return [
            Operation(
                method: "get", path: "/api/v1/dev/outbox", summary: "Mail kept by dcdn dev instead of sent (dev mode only)",
                tag: "Development", access: .publicRoute, responses: [(200, "OutboxList")],
                query: page + [("to", .string, "Only mail to this address")])
        ]
    }
}

extension MailArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.mailOperations(isDev: isDev) }
    static var schemas: [String: JSONSchema] { OpenAPIDocument.mailSchemas }
}

extension OpenAPIDocument {
    static var mailSchemas: [String: JSONSchema] {
        [
            "OutboxMessage": object([
                "id": uuid, "from": string, "to": .array(items: string), "subject": string, "body": string, "created_at": time,
            ]),
            "OutboxList": list("messages", of: "OutboxMessage"),
        ]
    }
}
