import NIOCore
import NIOPosix

/// A one-shot UDP DNS query, for checks (delegation) rather than resolution at scale.
public enum DNSClient {
    public static func query(_ message: DNSMessage, server: SocketAddress, timeout: Duration) async throws -> DNSMessage {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        let socket = channel.channel
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: message.encode())))
            let timer = Task {
                try await Task.sleep(for: timeout)
                socket.close(promise: nil)
            }
            defer { timer.cancel() }
            for try await envelope in inbound {
                if let reply = try? DNSMessage(bytes: Array(buffer: envelope.data)), reply.id == message.id, reply.isResponse {
                    return reply
                }
            }
            throw DNSWireError("no answer from \(server) within \(timeout)")
        }
    }
}
