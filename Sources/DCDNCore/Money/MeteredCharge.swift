import Foundation

/// What a metered service bills, priced the billing guide's way. Amounts round up to the next
/// micro-credit so usage is never free by rounding.
public enum MeteredCharge: Sendable, Equatable {
    /// VPS time at the plan's monthly price / 730 hours.
    case vps(plan: String, instance: String, monthlyPrice: Credits, seconds: Int64)
    /// AI inference: input and output tokens at per-million prices, times the model tier's multiplier.
    case aiTokens(model: String, input: Int64, output: Int64, inputPerMillion: Credits, outputPerMillion: Credits, multiplier: Int64)
    /// GPU rental or fine-tuning time at the operator's hourly price.
    case gpu(node: String, hourlyPrice: Credits, seconds: Int64)
    /// A plan's monthly renewal.
    case planRenewal(plan: String, monthlyPrice: Credits)

    public static let hoursPerMonth: Int64 = 730

    public var amount: Credits {
        switch self {
        case .vps(_, _, let price, let seconds):
            Credits(micro: Self.ceilDiv(price.micro * seconds, Self.hoursPerMonth * 3600))
        case .aiTokens(_, let input, let output, let inPrice, let outPrice, let multiplier):
            Credits(micro: Self.ceilDiv((input * inPrice.micro + output * outPrice.micro) * multiplier, 1_000_000))
        case .gpu(_, let price, let seconds):
            Credits(micro: Self.ceilDiv(price.micro * seconds, 3600))
        case .planRenewal(_, let price):
            price
        }
    }

    /// The ledger category customers see next to the charge.
    public var category: String {
        switch self {
        case .vps(let plan, let instance, _, _): "VPS: \(plan) (\(instance))"
        case .aiTokens(let model, _, _, _, _, _): "AI: \(model)"
        case .gpu(let node, _, _): "GPU: \(node)"
        case .planRenewal(let plan, _): "Plan: \(plan)"
        }
    }

    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { a <= 0 ? 0 : (a + b - 1) / b }
}
