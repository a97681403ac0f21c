import AsyncHTTPClient
import DCDNCore
import Foundation
import HTTPTypes
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

/// Where card payments happen. Stripe in production; tests put a recording double here, and
/// the end-to-end tests point `stripe_api_base` at a server speaking Stripe's wire format.
public protocol PaymentProvider: Sendable {
    func createCheckout(_ request: CheckoutRequest) async throws -> CheckoutSession
    /// Stops a recurring subscription from renewing at its period's end.
    func cancelAtPeriodEnd(subscription: String) async throws
}

public struct CheckoutRequest: Sendable, Equatable {
    public var paymentID: UUID
    public var productName: String
    public var amountCents: Int64
    /// A monthly subscription (plans) rather than a one-off payment (credits).
    public var recurringMonthly: Bool
    public var customerEmail: String
    public var successURL: String
    public var cancelURL: String
}

public struct CheckoutSession: Sendable, Equatable {
    public var id: String
    public var url: String
}

/// Stripe's REST API: Checkout Sessions (`POST /v1/checkout/sessions`, form-encoded, the
/// payment's ID as idempotency key) and subscription updates.
public struct StripeClient: PaymentProvider {
    let base: String
    let secretKey: String?
    let httpClient: HTTPClient

    public init(base: String, secretKey: String?, httpClient: HTTPClient = .shared) {
        self.base = base
        self.secretKey = secretKey
        self.httpClient = httpClient
    }

    public func createCheckout(_ request: CheckoutRequest) async throws -> CheckoutSession {
        var form: [(String, String)] = [
            ("mode", request.recurringMonthly ? "subscription" : "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", String(request.amountCents)),
            ("line_items[0][price_data][product_data][name]", request.productName),
            ("line_items[0][quantity]", "1"),
            ("success_url", request.successURL),
            ("cancel_url", request.cancelURL),
            ("client_reference_id", request.paymentID.uuidString),
            ("metadata[payment_id]", request.paymentID.uuidString),
            ("customer_email", request.customerEmail),
        ]
        if request.recurringMonthly {
            form.append(("line_items[0][price_data][recurring][interval]", "month"))
            form.append(("subscription_data[metadata][payment_id]", request.paymentID.uuidString))
        }
        let object = try await post("/v1/checkout/sessions", form: form, idempotencyKey: request.paymentID.uuidString)
        guard let id = object["id"] as? String, let url = object["url"] as? String else {
            throw Self.failure("Stripe's answer had no session id and url")
        }
        return CheckoutSession(id: id, url: url)
    }

    public func cancelAtPeriodEnd(subscription: String) async throws {
        guard subscription.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw Self.failure("bad subscription id") }
        _ = try await post("/v1/subscriptions/\(subscription)", form: [("cancel_at_period_end", "true")], idempotencyKey: nil)
    }

    static func failure(_ detail: String) -> APIError {
        APIError(.badGateway, code: .paymentProviderError, detail: "The payment provider refused or failed: \(detail).")
    }

    private func post(_ path: String, form: [(String, String)], idempotencyKey: String?) async throws -> [String: Any] {
        guard let secretKey, !secretKey.isEmpty else {
            throw APIError(
                .serviceUnavailable, code: .paymentsNotConfigured,
                detail: "Card payments are not configured on this platform (the operator sets stripe_secret_key).")
        }
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(secretKey)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        request.body = .bytes(ByteBuffer(string: Self.encode(form)))
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .seconds(20))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw Self.failure("could not reach \(base) (\(error))")
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        guard (200..<300).contains(response.status.code) else {
            let message = (object["error"] as? [String: Any])?["message"] as? String ?? "HTTP \(response.status.code)"
            throw Self.failure(message)
        }
        return object
    }

    /// `application/x-www-form-urlencoded` as Stripe reads it (brackets escaped too).
    static func encode(_ form: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return form.map { key, value in
            "\(key.addingPercentEncoding(withAllowedCharacters: allowed)!)=\(value.addingPercentEncoding(withAllowedCharacters: allowed)!)"
        }.joined(separator: "&")
    }
}
