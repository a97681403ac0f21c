import DNSKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Tells secondaries a zone changed (RFC 1996): NOTIFY over UDP, retried until each answers.
public struct NotifySender: Sendable {
    let targets: [SocketAddress]
    let key: TSIGKey?
    let logger: Logger

    public init(targets: [String], key: TSIGKey?, logger: Logger) throws {
        self.targets = try targets.map { try SocketAddress(dnsServer: $0, defaultPort: nil) }
        self.key = key
        self.logger = logger
    }

    public func notify(_ zones: [Zone]) async {
        guard !targets.isEmpty, !zones.isEmpty else { return }
        do {
            let acknowledged = Acknowledgements()
            let asyncChannel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: targets[0].protocol == .inet6 ? "::" : "0.0.0.0", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                            wrappingChannelSynchronously: channel)
                    }
                }
            let socket = asyncChannel.channel
            var pending: [(id: UInt16, bytes: [UInt8], target: SocketAddress)] = []
            for zone in zones {
                for target in targets {
                    let id = UInt16.random(in: 0...UInt16.max)
                    var message = DNSMessage(id: id)
                    message.opcode = DNSOpcode.notify.rawValue
                    message.authoritative = true
                    message.questions = [DNSQuestion(name: zone.apex, type: .soa)]
                    message.answers = [zone.soa]
                    let bytes = key.map { $0.sign(message.encode(), id: id, priorMAC: nil).0 } ?? message.encode()
                    pending.append((id, bytes, target))
                }
            }
            let messages = pending
            try await asyncChannel.executeThenClose { inbound, outbound in
                // The sender retries what is unacknowledged, then closes the socket, which ends the reading below.
                let sender = Task {
                    for _ in 0..<5 {
                        let waiting = messages.filter { !acknowledged.contains($0.id) }
                        if waiting.isEmpty { break }
                        for item in waiting {
                            try? await outbound.write(AddressedEnvelope(remoteAddress: item.target, data: ByteBuffer(bytes: item.bytes)))
                        }
                        try? await Task.sleep(for: .seconds(1))
                    }
                    socket.close(promise: nil)
                }
                do {
                    for try await envelope in inbound {
                        if let reply = try? DNSMessage(bytes: Array(buffer: envelope.data)), reply.isResponse {
                            acknowledged.insert(reply.id)
                        }
                    }
                } catch {}
                await sender.value
            }
            for item in pending where !acknowledged.contains(item.id) {
                logger.warning("secondary did not acknowledge NOTIFY", metadata: ["target": "\(item.target)"])
            }
        } catch {
            logger.warning("NOTIFY failed", metadata: ["error": "\(error)"])
        }
    }
}

final class Acknowledgements: Sendable {
    private let ids = Mutex<Set<UInt16>>([])
    func insert(_ id: UInt16) { ids.withLock { _ = $0.insert(id) } }
    func contains(_ id: UInt16) -> Bool { ids.withLock { $0.contains(id) } }
}
