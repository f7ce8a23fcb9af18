/// A National Provider Identifier: ten digits whose last is a Luhn check digit computed over
/// the prefix `80840` followed by the first nine digits.
public struct NPI: Sendable, Hashable, CustomStringConvertible {
    public let digits: String

    /// Accepts only a well-formed NPI with a correct check digit.
    public init?(_ text: String) {
        guard text.utf8.count == 10, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let body = text.utf8.prefix(9).map { Int($0) - 48 }
        guard Self.checkDigit(forFirstNine: body) == Int(text.utf8.last!) - 48 else { return nil }
        self.digits = text
    }

    /// Builds a valid NPI from nine leading digits by appending the check digit.
    public static func withCheckDigit(firstNine: String) -> NPI? {
        guard firstNine.utf8.count == 9, firstNine.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let digit = checkDigit(forFirstNine: firstNine.utf8.map { Int($0) - 48 })
        return NPI(firstNine + String(digit))
    }

    public var description: String { digits }

    /// Luhn over "80840" + the nine digits; the constant 24 is the Luhn sum of the prefix.
    static func checkDigit(forFirstNine digits: [Int]) -> Int {
        var sum = 24
        for (index, digit) in digits.reversed().enumerated() {
            if index % 2 == 0 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return (10 - sum % 10) % 10
    }
}
