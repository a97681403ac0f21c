import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import Coordinator

/// A local HTTP server speaking Stripe's wire format for the two calls DCDN makes
/// (`POST /v1/checkout/sessions`, `POST /v1/subscriptions/{id}`, form-encoded, Bearer secret key,
/// `Idempotency-Key` replays; errors as `{"error": {"type", "message"}}`), so that the tests
/// exercise the real `StripeClient` over a socket. The e2e tests' Python stand-in answers alike.
/// https://docs.stripe.com/api/checkout/sessions/create, https://docs.stripe.com/api/idempotent_requests
final class StripeStandIn: Sendable {
    static let secretKey = "sk_test_standin"

    /// One request as Stripe received it: its path, decoded form and headers that matter.
    struct Received: Sendable {
        var path: String
        var form: [String: String]
        var authorization: String?
        var idempotencyKey: String?
    }

    private struct State {
        var received: [Received] = []
        var replies: [String: String] = [:]
        var sessions = 0
        /// Answer the next calls with this Stripe error (status, type, message).
        var failure: (Int, String, String)?
    }
    private let state = Mutex(State())

    /// Every request that reached the stand-in, in order.
    var received: [Received] { state.withLock { $0.received } }
    /// Requests to create a Checkout Session, replays of an idempotency key included.
    var checkouts: [Received] { received.filter { $0.path == "/v1/checkout/sessions" } }
    /// Subscriptions set to cancel at period end.
    var canceled: [String] {
        received.filter { $0.path.hasPrefix("/v1/subscriptions/") && $0.form["cancel_at_period_end"] == "true" }.map {
            String($0.path.dropFirst("/v1/subscriptions/".count))
        }
    }

    /// Makes the following calls fail as Stripe does, e.g. (402, "card_error", "Your card was declined.").
    func fail(with failure: (Int, String, String)?) { state.withLock { $0.failure = failure } }

    /// Runs the stand-in on a free loopback port for the duration of `body`, which gets a
    /// `StripeClient` pointed at it.
    func run(_ body: @Sendable (StripeClient) async throws -> Void) async throws {
        let router = Router()
        router.post("v1/**") { request, _ in try await self.answer(request) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body(StripeClient(base: "http://127.0.0.1:\(port)", secretKey: Self.secretKey))
        }
    }

    private func answer(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        let received = Received(
            path: request.uri.path, form: Self.decode(String(buffer: body)), authorization: request.headers[.authorization],
            idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!])
        let (status, json): (Int, String) = state.withLock { state in
            state.received.append(received)
            if received.authorization != "Bearer \(Self.secretKey)" {
                return (401, Self.error("invalid_request_error", "Invalid API Key provided"))
            }
            if let (status, type, message) = state.failure { return (status, Self.error(type, message)) }
            // The same key gets the first answer again (Stripe keeps them 24 hours).
            if let key = received.idempotencyKey, let reply = state.replies[key] { return (200, reply) }
            let reply: String
            if received.path == "/v1/checkout/sessions" {
                state.sessions += 1
                let id = "cs_test_\(state.sessions)"
                reply = #"{"id":"\#(id)","object":"checkout.session","url":"https://checkout.stripe.test/c/pay/\#(id)"}"#
            } else if received.path.hasPrefix("/v1/subscriptions/sub_") {
                let id = received.path.dropFirst("/v1/subscriptions/".count)
                reply =
                    #"{"id":"\#(id)","object":"subscription","cancel_at_period_end":\#(received.form["cancel_at_period_end"] == "true")}"#
            } else {
                return (404, Self.error("invalid_request_error", "Unrecognized request URL (POST: \(received.path))"))
            }
            if let key = received.idempotencyKey { state.replies[key] = reply }
            return (200, reply)
        }
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func error(_ type: String, _ message: String) -> String {
        #"{"error":{"type":"\#(type)","message":"\#(message)"}}"#
    }

    /// `application/x-www-form-urlencoded`, as Stripe's servers decode it.
    static func decode(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            form[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return form
    }
}
