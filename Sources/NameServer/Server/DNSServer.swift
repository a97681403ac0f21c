import DCDNCore
import DNSKit
import Foundation
import GeoIP
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `dcdn dns`'s listeners: UDP (one SO_REUSEPORT socket per core, answered on the event loop
/// without allocation of tasks) and TCP (length-framed, several queries per connection, AXFR).
public final class DNSServer: Service, Sendable {
    public let store: ZoneStore
    let host: String
    let port: Int
    let transferKey: TSIGKey?
    let logger: Logger
    let resolver = AuthoritativeResolver()
    /// Queries answered since the last report.
    public let queries = Atomic<Int64>(0)
    let cache = PacketCache()

    public init(store: ZoneStore, host: String, port: Int, transferKey: TSIGKey?, logger: Logger) {
        self.store = store
        self.host = host
        self.port = port
        self.transferKey = transferKey
        self.logger = logger
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        var channels: [any Channel] = []
        for loop in group.makeIterator() {
            let channel = try await DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(
                    ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_REUSEPORT)), value: 1
                )
                // Batches: up to 64 datagrams per recvmmsg, a 4 MiB receive buffer for bursts.
                .channelOption(.datagramVectorReadMessageCount, value: 64)
                .channelOption(.maxMessagesPerRead, value: 64)
                .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 64 * 2048))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UDPQueryHandler(server: self)) }
                }
                .bind(host: host, port: port).get()
            channels.append(channel)
        }
        let tcp = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(10)))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(TCPQueryHandler(server: self))
                }
            }
            .bind(host: host, port: port).get()
        channels.append(tcp)
        let bound = channels
        logger.info("nameserver listening on \(host):\(port) (UDP and TCP)")
        await withGracefulShutdownHandler {
            try? await tcp.closeFuture.get()
        } onGracefulShutdown: {
            for channel in bound { channel.close(promise: nil) }
        }
        for channel in bound { try? await channel.close() }
    }

    /// Answers one query packet; nil means drop it.
    func answer(_ bytes: [UInt8], from client: SocketAddress?, overTCP: Bool) -> [UInt8]? {
        let address = client?.ipAddress.flatMap(IPAddress.init)
        let zones = store.zones
        // The client's country matters only when GeoDNS has a choice to make.
        let country =
            zones.selector.isGeographic
            ? address.flatMap { store.geoIP?.packedCountry(of: $0) } ?? 0 : 0
        let key = PacketCache.key(for: bytes, country: country, tcp: overTCP)
        if let key, let cached = cache.response(for: key, version: zones.version, query: bytes) {
            queries.add(1, ordering: .relaxed)
            return cached
        }
        guard let query = try? DNSMessage(bytes: bytes) else {
            // Answer FORMERR when the header at least is readable and is not itself a response.
            guard bytes.count >= 12, bytes[2] & 0x80 == 0 else { return nil }
            var error = DNSMessage(id: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
            error.isResponse = true
            error.rcode = UInt16(DNSRCode.formErr.rawValue)
            return error.encode()
        }
        queries.add(1, ordering: .relaxed)
        guard let response = resolver.respond(to: query, from: address, zones: zones) else { return nil }
        let encoded: [UInt8]
        if overTCP {
            encoded = response.encode()
        } else {
            let limit = query.edns.map { max(512, min(Int($0.udpPayloadSize), Int(AuthoritativeResolver.udpPayloadSize))) } ?? 512
            encoded = response.encode(maxSize: limit)
        }
        if let key, query.tsig == nil { cache.store(encoded, for: key, version: zones.version) }
        return encoded
    }

    /// The messages of a zone transfer, or a single refusal.
    func transfer(_ bytes: [UInt8], query: DNSMessage, from client: SocketAddress?) -> [[UInt8]] {
        var refusal = DNSMessage(id: query.id)
        refusal.isResponse = true
        refusal.opcode = query.opcode
        refusal.questions = query.questions
        guard let key = transferKey else {
            refusal.rcode = UInt16(DNSRCode.refused.rawValue)
            return [refusal.encode()]
        }
        let requestMAC: [UInt8]
        do {
            requestMAC = try key.verify(request: query, bytes: bytes)
        } catch {
            logger.warning(
                "refused zone transfer with a bad signature", metadata: ["client": "\(client.map { "\($0)" } ?? "?")", "error": "\(error)"])
            // Unsigned: transfers are not open (REFUSED, as BIND and NSD answer). A signature that
            // fails: NOTAUTH with the TSIG error (RFC 8945 §5.2).
            guard error != .unsigned else {
                refusal.rcode = UInt16(DNSRCode.refused.rawValue)
                return [refusal.encode()]
            }
            refusal.rcode = UInt16(DNSRCode.notAuth.rawValue)
            return [key.errorResponse(refusal.encode(), request: query, failure: error)]
        }
        guard let question = query.questions.first, let zone = store.zones.zone(named: question.name.key) else {
            refusal.rcode = UInt16(DNSRCode.notAuth.rawValue)
            return [key.sign(refusal.encode(), id: query.id, priorMAC: requestMAC).0]
        }
        let records = ZoneTransfer.records(of: zone, selector: store.zones.selector)
        var messages: [[UInt8]] = []
        var priorMAC = requestMAC
        for (index, chunk) in ZoneTransfer.chunks(records).enumerated() {
            var message = DNSMessage(id: query.id)
            message.isResponse = true
            message.authoritative = true
            if index == 0 { message.questions = query.questions }
            message.answers = chunk
            let (signed, mac) = key.sign(message.encode(), id: query.id, priorMAC: priorMAC, timersOnly: index > 0)
            messages.append(signed)
            priorMAC = mac
        }
        logger.info("zone transfer", metadata: ["zone": "\(zone.apex)", "serial": "\(zone.serial)", "records": "\(records.count)"])
        return messages
    }
}

/// Splits the TCP byte stream into DNS messages (RFC 1035 §4.2.2: a 2-byte length prefix).
struct TCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self), buffer.readableBytes >= Int(length) + 2 else {
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

final class UDPQueryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let server: DNSServer

    init(server: DNSServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(buffer: envelope.data)
        guard let reply = server.answer(bytes, from: envelope.remoteAddress, overTCP: false) else { return }
        let buffer = context.channel.allocator.buffer(bytes: reply)
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
    }

    // One flush per batch of reads lets NIO send the replies with sendmmsg.
    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An ICMP error for one client must not close the shared socket.
    }
}

final class TCPQueryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let server: DNSServer

    init(server: DNSServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(buffer: unwrapInboundIn(data))
        let client = context.remoteAddress
        var replies: [[UInt8]]
        if let query = try? DNSMessage(bytes: bytes), query.questions.first?.type == .axfr || query.questions.first?.type == .ixfr {
            // IXFR is answered with a full transfer (RFC 1995 §4 allows it).
            replies = server.transfer(bytes, query: query, from: client)
        } else {
            replies = server.answer(bytes, from: client, overTCP: true).map { [$0] } ?? []
        }
        for reply in replies {
            var buffer = context.channel.allocator.buffer(capacity: reply.count + 2)
            buffer.writeInteger(UInt16(reply.count))
            buffer.writeBytes(reply)
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
