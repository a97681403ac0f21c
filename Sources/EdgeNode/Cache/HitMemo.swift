import HTTPCache
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix

/// The last answer built for each hot object (HTTP/1.1 bytes and the HTTP/2 response), kept per event-loop thread so that no lock
/// is taken: a fresh memory hit asked for again with the same Age, TTL, variant traits and domain
/// settings reuses its status line and header block instead of building them again. The cache
/// lookup still runs first, so a purged or replaced object is never answered from here.
final class HitMemo: @unchecked Sendable {  // only ever touched by the thread that owns it
    struct Key: Equatable {
        let responseTime: Double
        let age: Int
        let ttl: Int
        let isHead: Bool
        let acceptEncoding: String?
        let settings: CacheSettings
    }

    struct Answer {
        let key: Key
        let status: Int
        /// The status line and header block for HTTP/1.1.
        let head: ByteBuffer
        /// The same response for HTTP/2, with its Content-Length.
        let response: HTTPResponse
        let body: ByteBuffer?
    }

    /// Bounds on what one thread keeps; beyond them the memo starts over.
    static let maxAnswers = 4096
    static let maxBodyBytes = 16 << 20

    private var answers: [String: Answer] = [:]
    private var bodyBytes = 0
    private static let perThread = ThreadSpecificVariable<HitMemo>()

    /// The calling thread's memo.
    static var current: HitMemo {
        if let memo = perThread.currentValue { return memo }
        let memo = HitMemo()
        perThread.currentValue = memo
        return memo
    }

    func answer(for id: String, key: Key) -> Answer? {
        guard let answer = answers[id], answer.key == key else { return nil }
        return answer
    }

    func remember(_ answer: Answer, for id: String) {
        let size = answer.body?.readableBytes ?? 0
        if answers.count >= Self.maxAnswers || bodyBytes + size > Self.maxBodyBytes {
            answers.removeAll(keepingCapacity: true)
            bodyBytes = 0
        }
        if let previous = answers.updateValue(answer, forKey: id) { bodyBytes -= previous.body?.readableBytes ?? 0 }
        bodyBytes += size
    }

    /// The status line and header block of an HTTP/1.1 response (RFC 9112 §4–5). A body without a
    /// declared length gets one; HEAD and 304 answers keep the fields they were given.
    static func wireHead(_ status: HTTPResponse.Status, _ fields: HTTPFields, body: ByteBuffer?) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(1024)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(status.code))
        buffer.writeStaticString(" ")
        // Statuses made from a bare code have no phrase; NIO knows the registered ones.
        buffer.writeString(
            status.reasonPhrase.isEmpty ? HTTPResponseStatus(statusCode: Int(status.code)).reasonPhrase : status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for field in fields {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        if let body, fields[.contentLength] == nil {
            buffer.writeStaticString("Content-Length: ")
            buffer.writeString(String(body.readableBytes))
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
