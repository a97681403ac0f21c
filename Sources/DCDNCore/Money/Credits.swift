import Foundation

/// An amount of DCDN credits (1 credit = 1 USD), held as Int64 micro-credits so that storage and
/// arithmetic never touch floating point. It travels in JSON as a plain number (`12.5`).
public struct Credits: Hashable, Comparable, Sendable {
    public static let microPerCredit: Int64 = 1_000_000

    public var micro: Int64

    public init(micro: Int64) { self.micro = micro }

    /// Whole credits, e.g. a plan price of 5.
    public init(_ credits: Int64) { self.micro = credits * Self.microPerCredit }

    /// Parses a decimal amount exactly; nil when it has more than six decimals or overflows.
    public init?(decimal: Decimal) {
        var scaled = decimal * Decimal(Self.microPerCredit)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        guard rounded == scaled,
            rounded <= Decimal(Int64.max), rounded >= Decimal(Int64.min)
        else { return nil }
        self.micro = NSDecimalNumber(decimal: rounded).int64Value
    }

    public var decimal: Decimal { Decimal(micro) / Decimal(Self.microPerCredit) }

    public static let zero = Credits(micro: 0)

    public static func < (lhs: Credits, rhs: Credits) -> Bool { lhs.micro < rhs.micro }
    public static func + (lhs: Credits, rhs: Credits) -> Credits { Credits(micro: lhs.micro + rhs.micro) }
    public static func - (lhs: Credits, rhs: Credits) -> Credits { Credits(micro: lhs.micro - rhs.micro) }
}

extension Credits: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Decimal.self)
        guard let credits = Credits(decimal: value) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "an amount of credits with at most six decimals")
        }
        self = credits
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(decimal)
    }
}

extension Credits: CustomStringConvertible {
    public var description: String { "\(decimal)" }
}
