import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Submits mail to one relay (RFC 5321 with EHLO, STARTTLS per RFC 3207 and AUTH PLAIN).
public struct SMTPClient: Sendable {
    public enum TLSMode: String, Sendable {
        /// STARTTLS is required; a relay that does not offer it is an error.
        case starttls
        /// STARTTLS when offered, plain otherwise.
        case opportunistic
        case off
    }

    public var host: String
    public var port: Int
    public var tls: TLSMode
    public var username: String?
    public var password: String?
    public var heloName: String
    public var timeout: Duration
    /// Trust roots for STARTTLS; nil means the system's.
    public var trustRoots: NIOSSLTrustRoots?

    public init(
        host: String, port: Int, tls: TLSMode, username: String? = nil, password: String? = nil,
        heloName: String = "dcdn.localhost", timeout: Duration = .seconds(30), trustRoots: NIOSSLTrustRoots? = nil
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password
        self.heloName = heloName
        self.timeout = timeout
        self.trustRoots = trustRoots
    }

    /// Delivers the message to the relay; returns when the relay has accepted it (250 after DATA).
    public func send(_ message: MailMessage, messageID: String = "\(UUID().uuidString)@dcdn") async throws {
        guard !message.to.isEmpty else { throw SMTPError(stage: "RCPT", reply: nil, message: "no recipients") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.converse(message, messageID: messageID) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SMTPError(stage: "timeout", reply: nil, message: "relay did not finish within \(timeout)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func converse(_ message: MailMessage, messageID: String) async throws {
        let (replies, continuation) = AsyncThrowingStream.makeStream(of: SMTPReply.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SMTPReplyDecoder(continuation: continuation))
                }
            }
            .connect(host: host, port: port).get()
        defer { channel.close(promise: nil) }
        var session = Session(channel: channel, replies: replies.makeAsyncIterator())

        try await session.expect(220, stage: "greeting")
        var extensions = try await session.command("EHLO \(heloName)", expect: 250, stage: "EHLO").lines
        let offersTLS = extensions.contains { $0.uppercased().hasPrefix("STARTTLS") }
        if tls == .starttls || (tls == .opportunistic && offersTLS) {
            guard offersTLS else {
                throw SMTPError(stage: "STARTTLS", reply: nil, message: "relay \(host) does not offer STARTTLS")
            }
            try await session.command("STARTTLS", expect: 220, stage: "STARTTLS")
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let trustRoots { configuration.trustRoots = trustRoots }
            let context = try NIOSSLContext(configuration: configuration)
            let handler = try NIOSSLClientHandler(context: context, serverHostname: host)
            try await channel.pipeline.addHandler(handler, position: .first)
            extensions = try await session.command("EHLO \(heloName)", expect: 250, stage: "EHLO").lines
        }
        if let username, let password {
            guard extensions.contains(where: { $0.uppercased().hasPrefix("AUTH") }) else {
                throw SMTPError(stage: "AUTH", reply: nil, message: "relay \(host) does not offer AUTH")
            }
            let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
            try await session.command("AUTH PLAIN \(token)", expect: 235, stage: "AUTH")
        }
        try await session.command("MAIL FROM:<\(message.envelopeFrom)>", expect: 250, stage: "MAIL")
        for recipient in message.to {
            try await session.command("RCPT TO:<\(MailMessage.address(in: recipient))>", expect: 250, stage: "RCPT")
        }
        try await session.command("DATA", expect: 354, stage: "DATA")
        // Dot-stuffing (RFC 5321 §4.5.2) even though the base64 body never starts a line with ".".
        let data = message.rendered(messageID: messageID)
            .split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
            .joined(separator: "\r\n")
        try await session.command(data + ".", expect: 250, stage: "DATA")
        _ = try? await session.command("QUIT", expect: 221, stage: "QUIT")
    }

    private struct Session {
        let channel: any Channel
        var replies: AsyncThrowingStream<SMTPReply, any Error>.AsyncIterator

        mutating func expect(_ code: Int, stage: String) async throws {
            guard let reply = try await replies.next() else {
                throw SMTPError(stage: stage, reply: nil, message: "relay closed the connection")
            }
            guard reply.code == code else { throw SMTPError(stage: stage, reply: reply, message: "unexpected reply") }
        }

        @discardableResult
        mutating func command(_ line: String, expect code: Int, stage: String) async throws -> SMTPReply {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n"))
            guard let reply = try await replies.next() else {
                throw SMTPError(stage: stage, reply: nil, message: "relay closed the connection")
            }
            guard reply.code == code else { throw SMTPError(stage: stage, reply: reply, message: "unexpected reply") }
            return reply
        }
    }
}

/// One SMTP reply: a code and its text lines (without the code), joined from multi-line replies.
public struct SMTPReply: Sendable, Equatable {
    public var code: Int
    public var lines: [String]
}

public struct SMTPError: Error, CustomStringConvertible {
    public var stage: String
    public var reply: SMTPReply?
    public var message: String
    public init(stage: String, reply: SMTPReply?, message: String) {
        self.stage = stage
        self.reply = reply
        self.message = message
    }

    public var description: String {
        if let reply { return "SMTP \(stage): \(message): \(reply.code) \(reply.lines.joined(separator: " "))" }
        return "SMTP \(stage): \(message)"
    }
}

/// Splits the byte stream into reply lines and groups "250-…" continuations into one reply.
final class SMTPReplyDecoder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private static let maxLineLength = 4096

    private let continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation
    private let state = Mutex((buffer: [UInt8](), lines: [String]()))

    init(continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(buffer: unwrapInboundIn(data))
        let result: Result<[SMTPReply], SMTPError> = state.withLock { state in
            state.buffer.append(contentsOf: bytes)
            var replies: [SMTPReply] = []
            while let newline = state.buffer.firstIndex(of: 0x0A) {
                var line = String(decoding: state.buffer[..<newline], as: UTF8.self)
                state.buffer.removeSubrange(...newline)
                if line.hasSuffix("\r") { line.removeLast() }
                guard line.count >= 3, let code = Int(line.prefix(3)) else {
                    return .failure(SMTPError(stage: "reply", reply: nil, message: "malformed reply line"))
                }
                let separator = line.dropFirst(3).first
                state.lines.append(String(line.dropFirst(4)))
                if separator != "-" {
                    replies.append(SMTPReply(code: code, lines: state.lines))
                    state.lines = []
                }
            }
            if state.buffer.count > Self.maxLineLength {
                return .failure(SMTPError(stage: "reply", reply: nil, message: "reply line too long"))
            }
            return .success(replies)
        }
        switch result {
        case .success(let replies): replies.forEach { continuation.yield($0) }
        case .failure(let error):
            continuation.finish(throwing: error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }
}
