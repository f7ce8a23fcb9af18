import ClaimFlowCore
import Foundation
import Synchronization

/// The request schemas' patterns, compiled (nil: not a valid pattern), by pattern text.
private let compiledPatterns = Mutex<[String: NSRegularExpression?]>([:])

/// The shape of a JSON value in a request body, in JSON Schema's terms (the subset
/// `openapi.yaml` uses): what ``RequestBodyReader`` checks before a body is decoded.
///
/// Each request type states its schema once, from Core's constants where the database or the
/// X12 writer enforce the same limit. The contract test holds every schema against the
/// document by sending each documented field, limit and enum value through the router.
indirect enum JSONSchema: Sendable {
    case string(StringRule)
    case integer(ClosedRange<Int>)
    case boolean
    case array(of: JSONSchema, count: ClosedRange<Int>)
    case object([Property])

    /// A field of an object schema.
    struct Property: Sendable {
        let name: String
        let schema: JSONSchema
        let required: Bool
    }

    /// The rules for a string. Lengths count Unicode scalars, as JSON Schema and PostgreSQL
    /// count characters, so text that passes here also fits its column.
    struct StringRule: Sendable {
        /// `minLength`...`maxLength`; nil where a pattern, a list or a format governs instead.
        var length: ClosedRange<Int>?
        /// A regular expression the whole string must match (anchored as in the document).
        var pattern: String?
        /// The only values allowed (`enum`).
        var values: [String]?
        /// `uuid` or `date`: checked by parsing, not by pattern.
        var format: Format?
        /// What a valid value looks like, for the finding's message.
        var expected: String?
        /// A rule no schema keyword states (a check digit): the value must pass it too.
        var check: (@Sendable (String) -> Bool)?
    }

    enum Format: String, Sendable {
        case uuid
        case date
        /// A National Provider Identifier: ten digits whose last is the Luhn check digit over
        /// the prefix 80840 and the first nine (stated in the document as this format).
        case npi
    }

    // Building blocks shared by the request types.

    /// Free text of 1 to `maxLength` characters.
    static func text(_ maxLength: Int) -> JSONSchema { .string(StringRule(length: 1...maxLength, pattern: noNUL)) }

    /// Any string.
    static let anyString = JSONSchema.string(StringRule(pattern: noNUL))

    /// Text without NUL characters, which PostgreSQL cannot store: stated as a pattern so the
    /// document says it too.
    static let noNUL = "^[^\\u0000]*$"

    /// A string matching `pattern` (written without anchors; the document writes `^...$`).
    static func matching(_ pattern: String, _ expected: String) -> JSONSchema {
        .string(StringRule(pattern: "^\(pattern)$", expected: expected))
    }

    static func oneOf(_ values: [String], _ expected: String) -> JSONSchema {
        .string(StringRule(values: values, expected: expected))
    }

    static let uuid = JSONSchema.string(StringRule(format: .uuid, expected: "a UUID"))
    static let date = JSONSchema.string(
        StringRule(pattern: datePattern, format: .date, expected: "a date as YYYY-MM-DD, years 1900 to 2200")
    )
    /// `YYYY-MM-DD` with years 1900 to 2200, months 01 to 12 and days 01 to 31; the `date`
    /// format adds the length of each month.
    static let datePattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
    /// A National Provider Identifier: ten digits whose last is the Luhn check digit (prefix 80840).
    static let npi = JSONSchema.string(StringRule(pattern: "^[0-9]{10}$", format: .npi, expected: "a valid 10-digit NPI"))
    /// A practice's code, as `POST /admin/practices` takes it.
    static let practiceCode = matching("[A-Z0-9_-]{2,20}", "2-20 upper-case letters, digits, _ or -")
    /// A reason for a supervisor's or biller's action, kept on the audit trail: blank is no reason.
    static let reason = JSONSchema.string(
        StringRule(
            length: 1...500, pattern: "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
            expected: "a reason, with at least one character that is not a space")
    )
    /// A body of just the caller's lease id.
    static let leaseOnly = JSONSchema.object([.required("lease_id", .uuid)])
}

extension JSONSchema.Property {
    static func required(_ name: String, _ schema: JSONSchema) -> Self { .init(name: name, schema: schema, required: true) }
    static func optional(_ name: String, _ schema: JSONSchema) -> Self { .init(name: name, schema: schema, required: false) }
}

/// Checks a parsed body against a schema and records every problem with its JSON path, so
/// one 422 lists them all instead of only the first.
struct SchemaChecker {
    private(set) var findings: [ProblemDetails.Finding] = []

    mutating func check(_ value: JSONValue, _ schema: JSONSchema, at path: String) {
        if value == .null {
            add(path, "must not be null")
            return
        }
        switch schema {
        case .string(let rule):
            guard case .string(let text) = value else { return add(path, "must be a string, not \(value.kind)") }
            check(text, rule, at: path)
        case .integer(let range):
            guard case .number(let number) = value, number.rounded() == number, let int = Int(exactly: number) else {
                return add(path, "must be a whole number, not \(value.kind)")
            }
            if !range.contains(int) { add(path, "must be between \(range.lowerBound) and \(range.upperBound)") }
        case .boolean:
            guard case .bool = value else { return add(path, "must be true or false, not \(value.kind)") }
        case .array(let items, let count):
            guard case .array(let elements) = value else { return add(path, "must be an array, not \(value.kind)") }
            guard count.contains(elements.count) else {
                return add(path, "must have \(Self.describe(count)) entries (got \(elements.count))")
            }
            for (index, element) in elements.enumerated() { check(element, items, at: "\(path)[\(index)]") }
        case .object(let properties):
            guard case .object(let fields) = value else { return add(path, "must be an object, not \(value.kind)") }
            for property in properties {
                if let field = fields[property.name] {
                    check(field, property.schema, at: "\(path).\(property.name)")
                } else if property.required {
                    add("\(path).\(property.name)", "is required")
                }
            }
            // Unknown fields are refused, so a misspelt optional field is not silently ignored.
            let known = Set(properties.map(\.name))
            for key in fields.keys.sorted() where !known.contains(key) { add("\(path).\(key)", "is not a known field") }
        }
    }

    private mutating func check(_ text: String, _ rule: JSONSchema.StringRule, at path: String) {
        let length = text.unicodeScalars.count
        if let limits = rule.length, length < limits.lowerBound {
            return add(path, limits.lowerBound == 1 ? "must not be empty" : "must be at least \(limits.lowerBound) characters")
        }
        if let limits = rule.length, length > limits.upperBound {
            return add(path, "must be at most \(limits.upperBound) characters (got \(length))")
        }
        if text.unicodeScalars.contains("\u{0}") { return add(path, "must not contain NUL characters") }
        let valid: Bool
        switch rule.format {
        case .uuid: valid = UUID(uuidString: text) != nil
        case .date: valid = CalendarDate(text) != nil
        case .npi: valid = NPI(text) != nil
        case nil: valid = true
        }
        // Free text's pattern says only "no NUL", which the check above has settled without
        // running a regular expression over what may be a long clinical note.
        let matches = rule.pattern.map { $0 == JSONSchema.noNUL || Self.matches(text, pattern: $0) } ?? true
        let listed = rule.values.map { $0.contains(text) } ?? true
        if !(valid && matches && listed && (rule.check?(text) ?? true)) {
            add(path, rule.expected.map { "must be \($0)" } ?? "is not valid")
        }
    }

    mutating func add(_ path: String, _ message: String) { findings.append(.init(path: path, message: message)) }

    /// Whether `text` matches `pattern`, as `range(of:options: .regularExpression)` would
    /// say, with each pattern compiled once: Foundation's own cache of compiled patterns keys
    /// them by a description of the options built by reflection, which cost more than the
    /// match itself on every field of every line of a batch.
    private static func matches(_ text: String, pattern: String) -> Bool {
        let compiled = compiledPatterns.withLock { patterns in
            if let known = patterns[pattern] { return known }
            let regex = try? NSRegularExpression(pattern: pattern)
            patterns[pattern] = regex
            return regex
        }
        guard let compiled else { return text.range(of: pattern, options: .regularExpression) != nil }
        return compiled.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private static func describe(_ count: ClosedRange<Int>) -> String {
        count.lowerBound == 0 ? "at most \(count.upperBound)" : "\(count.lowerBound) to \(count.upperBound)"
    }
}

extension JSONSchema {
    /// The schema in JSON Schema's own keywords, as the OpenAPI document writes it (without
    /// descriptions): what the contract test compares with `openapi.yaml`.
    var document: [String: any Sendable] {
        switch self {
        case .string(let rule):
            var result: [String: any Sendable] = ["type": "string"]
            if let length = rule.length {
                result["minLength"] = length.lowerBound
                if length.upperBound != Int.max { result["maxLength"] = length.upperBound }
            }
            if let pattern = rule.pattern { result["pattern"] = pattern }
            if let values = rule.values { result["enum"] = values }
            if let format = rule.format { result["format"] = format.rawValue }
            return result
        case .integer(let range):
            return ["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound]
        case .boolean:
            return ["type": "boolean"]
        case .array(let items, let count):
            var result: [String: any Sendable] = ["type": "array", "items": items.document, "maxItems": count.upperBound]
            if count.lowerBound > 0 { result["minItems"] = count.lowerBound }
            return result
        case .object(let properties):
            var result: [String: any Sendable] = [
                "type": "object", "additionalProperties": false,
                "properties": Dictionary(uniqueKeysWithValues: properties.map { ($0.name, $0.schema.document as any Sendable) }),
            ]
            let required = properties.filter(\.required).map(\.name).sorted()
            if !required.isEmpty { result["required"] = required }
            return result
        }
    }
}
