import Foundation

/// dcdn dev's outbox: mail kept instead of sent.
extension OpenAPIDocument {
    static func mailOperations(isDev: Bool) -> [Operation] {
        guard isDev else { return [] }
        return [
            Operation(
                method: "get", path: "/api/v1/dev/outbox", summary: "Mail kept by dcdn dev instead of sent (dev mode only)",
                tag: "Development", access: .publicRoute, responses: [(200, "OutboxList")],
                query: page + [("to", ["type": "string"], "Only mail to this address")])
        ]
    }
}

extension MailArea {
    static func operations(isDev: Bool) -> [OpenAPIDocument.Operation] { OpenAPIDocument.mailOperations(isDev: isDev) }
}
