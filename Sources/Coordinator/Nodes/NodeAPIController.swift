import DCDNCore
import Foundation
import Hummingbird
import NIOFoundationEssentialsCompat
import NodeProtocol

/// The node API (DESIGN.md): how edge nodes, nameservers and mail relays sync with the
/// coordinator. Authenticated by the node's token and, if set, its IP allowlist.
struct NodeAPIController {
    let feed: ConfigFeed
    let nodes: NodeService
    let security: SecurityService
    static let maxWait = 60

    struct Registered: ResponseEncodable {
        var id: UUID
        var name: String
        var roles: [String]
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("node-api")
        group.post("register") { request, context -> Registered in
            let node = try await node(request, context)
            let registration = try await decode(NodeRegistration.self, request, context)
            try await nodes.register(node, registration)
            return Registered(id: node.id!, name: node.name, roles: node.roles)
        }
        group.get("config") { request, context -> Response in
            let node = try await node(request, context)
            let query = request.uri.queryParameters
            // The sections of the node's assigned roles, or of the one role asked for.
            var roles = Set(node.roles.compactMap(NodeRole.init))
            if let text = query["role"] {
                guard let role = NodeRole(rawValue: String(text)) else {
                    throw APIError.validation("role", "must be one of \(Node.roles.joined(separator: ", "))")
                }
                guard roles.contains(role) else { throw Self.notAssigned(role.rawValue, node) }
                roles = [role]
            }
            var since: Int64?
            if let text = query["since"] {
                guard let value = Int64(String(text)), value >= 0 else { throw APIError.validation("since", "must be a version number") }
                since = value
            }
            var wait = 0
            if let text = query["wait"] {
                guard let value = Int(String(text)), (0...Self.maxWait).contains(value) else {
                    throw APIError.validation("wait", "must be 0 to \(Self.maxWait) seconds")
                }
                wait = value
            }
            if let since {
                let changed = try await feed.waitForChange(since: since, timeout: .seconds(wait))
                if !changed { return Response(status: .notModified) }
            }
            let snapshot = try await feed.snapshot(since: since, roles: roles)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder.nodeAPI.encode(snapshot))))
        }
        group.post("report") { request, context -> HTTPResponse.Status in
            let node = try await node(request, context)
            let report = try await decode(NodeReport.self, request, context)
            try await nodes.report(node, report)
            try await security.ingest(report, from: node)
            return .noContent
        }
    }

    /// A node asks for a role an admin did not give it (403): roles are never self-assigned, so
    /// a nameserver's token cannot fetch the edges' private keys.
    static func notAssigned(_ role: String, _ node: Node) -> APIError {
        APIError(
            .forbidden, code: .roleNotAssigned,
            detail: "This node runs \(node.roles.joined(separator: ", ")); an admin adds the \(role) role to it.", field: "role")
    }

    func node(_ request: Request, _ context: AppRequestContext) async throws -> Node {
        let header = request.headers[.authorization]
        let token = header.flatMap { $0.lowercased().hasPrefix("bearer ") ? String($0.dropFirst(7)) : nil }
        return try await nodes.authenticate(token: token, from: context.clientIP)
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: AppRequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: 8 << 20)
        do {
            return try JSONDecoder.nodeAPI.decode(type, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIRequestDecoder.describe(error)
        }
    }
}

/// Admin API for node operators' machines.
struct NodesAdminController {
    let nodes: NodeService

    struct NodeResponse: ResponseCodable {
        var id: UUID
        var name: String
        var roles: [String]
        var region: String
        var country: String
        var latitude: Double?
        var longitude: Double?
        var ipv4: String?
        var ipv6: String?
        var hostname: String?
        var capacity: Int
        var ipAllowlist: [String]
        var healthy: Bool
        var lastHeartbeatAt: Date?
        var configVersionSeen: Int64?
        var createdAt: Date?
        /// Only when created or rotated.
        var token: String?

        init(_ node: Node, token: String? = nil) {
            id = node.id!
            name = node.name
            roles = node.roles
            region = node.region
            country = node.country
            latitude = node.latitude
            longitude = node.longitude
            ipv4 = node.ipv4
            ipv6 = node.ipv6
            hostname = node.hostname
            capacity = node.capacity
            ipAllowlist = node.ipAllowlist
            healthy = node.healthy
            lastHeartbeatAt = node.lastHeartbeatAt
            configVersionSeen = node.configVersionSeen
            createdAt = node.createdAt
            self.token = token
        }
    }
    struct NodeList: ResponseCodable {
        var nodes: [NodeResponse]
        var total: Int
    }

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        let group = api.group("admin/nodes")
        group.post { request, context -> EditedResponse<NodeResponse> in
            _ = try context.requireAdmin()
            let (node, token) = try await nodes.create(try await request.decode(as: NodeService.Draft.self, context: context))
            return EditedResponse(status: .created, response: NodeResponse(node, token: token))
        }
        group.get { _, context -> NodeList in
            _ = try context.requireAdmin()
            let nodes = try await nodes.list()
            return NodeList(nodes: nodes.map { NodeResponse($0) }, total: nodes.count)
        }
        group.patch(":id") { request, context -> NodeResponse in
            _ = try context.requireAdmin()
            let draft = try await request.decode(as: NodeService.Draft.self, context: context)
            return NodeResponse(try await nodes.update(try context.parameters.uuid("id", what: "Node"), draft))
        }
        group.delete(":id") { _, context -> HTTPResponse.Status in
            _ = try context.requireAdmin()
            try await nodes.delete(try context.parameters.uuid("id", what: "Node"))
            return .noContent
        }
        group.post(":id/token") { _, context -> NodeResponse in
            _ = try context.requireAdmin()
            let (node, token) = try await nodes.rotateToken(try context.parameters.uuid("id", what: "Node"))
            return NodeResponse(node, token: token)
        }
    }
}
