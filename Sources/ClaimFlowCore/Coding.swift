public import Foundation

/// One service line as a coder assigns it (837P loop 2400).
public struct ServiceLine: Sendable, Hashable, Codable {
    /// CPT (5 digits, or 4 digits + F/T/U) or HCPCS Level II (letter + 4 digits).
    public var code: String
    /// Up to four two-character modifiers, in order.
    public var modifiers: [String]
    public var units: Decimal
    @MoneyAmount public var charge: Decimal
    /// 1-based positions in the diagnosis list, the first being primary (1 to 4 of them).
    public var pointers: [Int]
    /// Anesthesia time: the line is billed in minutes (SV103 `MJ`) instead of units.
    public var anesthesiaMinutes: Int?
    /// The drug given, for a drug HCPCS code (loop 2410).
    public var drug: DrugIdentification?

    public init(
        code: String, modifiers: [String] = [], units: Decimal, charge: Decimal, pointers: [Int], anesthesiaMinutes: Int? = nil,
        drug: DrugIdentification? = nil
    ) {
        self.code = code
        self.modifiers = modifiers
        self.units = units
        self.charge = charge
        self.pointers = pointers
        self.anesthesiaMinutes = anesthesiaMinutes
        self.drug = drug
    }
}

/// The National Drug Code of a drug line and how much was given (837P loop 2410: LIN, CTP).
public struct DrugIdentification: Sendable, Hashable, Codable {
    /// The units CTP05-1 takes: international unit, gram, milligram, milliliter, unit.
    public static let units: Set<String> = ["F2", "GR", "ME", "ML", "UN"]

    /// The NDC in its 11-digit 5-4-2 form, without dashes.
    public var ndc: String
    /// One of ``units``.
    public var unit: String
    public var quantity: Decimal

    public init(ndc: String, unit: String, quantity: Decimal) {
        self.ndc = ndc
        self.unit = unit
        self.quantity = quantity
    }
}

/// The codes of one coding version of an encounter: diagnoses in claim order and lines.
public struct CodeAssignment: Sendable, Hashable, Codable {
    /// ICD-10-CM codes without dots, in order (the first is the principal diagnosis).
    public var diagnoses: [String]
    public var lines: [ServiceLine]

    public init(diagnoses: [String], lines: [ServiceLine]) {
        self.diagnoses = diagnoses
        self.lines = lines
    }

    /// The claim total: the sum of the line charges.
    public var totalCharge: Decimal { lines.reduce(0) { $0 + $1.charge } }
}

/// An amount in dollars, written as a decimal string with two places (`"125.00"`) in both
/// directions: a JSON number would round-trip through binary floating point on many clients.
@propertyWrapper
public struct MoneyAmount: Sendable, Hashable, Codable {
    public var wrappedValue: Decimal

    public init(wrappedValue: Decimal) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let amount = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an amount such as \"125.00\"")
        }
        wrappedValue = amount
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Self.text(wrappedValue))
    }

    /// `125` → `"125.00"`, `-3.5` → `"-3.50"`: rounded to cents, always two places.
    public static func text(_ amount: Decimal) -> String {
        var value = amount
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .plain)
        let negative = rounded < 0
        let parts = (negative ? -rounded : rounded).description.split(separator: ".", maxSplits: 1)
        let whole = parts.first.map(String.init) ?? "0"
        let cents = parts.count > 1 ? String(parts[1]) : ""
        return (negative ? "-" : "") + whole + "." + cents.padding(toLength: 2, withPad: "0", startingAt: 0)
    }
}

/// Formats of the code systems, checked before anything is stored.
public enum CodeFormat {
    /// An ICD-10-CM code as written by a coder, with or without its dot, upper-cased and with
    /// the dot removed; nil when it cannot be one: a letter, then 2 to 6 letters or digits.
    /// (The second character is usually a digit, but the 2026 release added QA0x codes.)
    public static func normalizedDiagnosis(_ text: String) -> String? {
        var code = text.uppercased()
        if code.count > 3, code.dropFirst(3).first == "." {
            code.remove(at: code.index(code.startIndex, offsetBy: 3))
        }
        let scalars = Array(code.unicodeScalars)
        guard (3...7).contains(scalars.count), isLetter(scalars[0]),
            scalars.dropFirst().allSatisfy({ isDigit($0) || isLetter($0) })
        else { return nil }
        return code
    }

    /// Whether `code` is a CPT (5 digits, or 4 digits + F, T or U) or HCPCS Level II
    /// (letter + 4 digits) procedure code.
    public static func isProcedure(_ code: String) -> Bool {
        let scalars = Array(code.unicodeScalars)
        guard scalars.count == 5 else { return false }
        if scalars.allSatisfy(isDigit) { return true }
        if scalars.prefix(4).allSatisfy(isDigit), "FTU".unicodeScalars.contains(scalars[4]) { return true }
        return isLetter(scalars[0]) && scalars.dropFirst().allSatisfy(isDigit)
    }

    /// A modifier: two upper-case letters or digits.
    public static func isModifier(_ code: String) -> Bool {
        let scalars = Array(code.unicodeScalars)
        return scalars.count == 2 && scalars.allSatisfy { isDigit($0) || isLetter($0) }
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool { ("A"..."Z").contains(scalar) }
}
