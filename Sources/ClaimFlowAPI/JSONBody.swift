import ClaimFlowCore
import Foundation
import Hummingbird
import NIOCore

/// A parsed JSON value: request bodies are read into this first, so that every problem in
/// a body can be reported at once, each with its JSON path, instead of only the first.
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Reads request bodies: checks the media type and the size limit, parses JSON, and hands
/// back a ``FieldReader`` over the top-level object.
enum JSONBody {
    /// The largest JSON body accepted (documented in the OpenAPI document).
    static let limit = 1 << 20
    /// The largest NDJSON batch accepted.
    static let batchLimit = 16 << 20

    /// The body as a JSON object, or an ``APIError`` that says what is wrong with it.
    static func object(_ request: Request, limit: Int = JSONBody.limit) async throws -> FieldReader {
        try requireMediaType(request, "application/json")
        let data = try await bytes(request, limit: limit)
        let value = try parse(data, path: "$")
        guard case .object(let fields) = value else {
            throw APIError.validation([.init(path: "$", message: "the body must be a JSON object, not \(value.kind)")])
        }
        return FieldReader(fields, path: "$", findings: Findings())
    }

    static func requireMediaType(_ request: Request, _ expected: String) throws {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == expected else {
            throw APIError.unsupportedMediaType("send the body as \(expected)")
        }
    }

    static func bytes(_ request: Request, limit: Int) async throws -> Data {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge("the body is larger than the limit of \(limit) bytes")
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge("the body is larger than the limit of \(limit) bytes")
        }
    }

    static func parse(_ data: Data, path: String) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw APIError.badRequest(type: "malformed-json", "the body at \(path) is not well-formed JSON")
        }
    }
}

/// Findings collected while reading one body, shared by the readers of its nested objects.
final class Findings: @unchecked Sendable {
    private(set) var items: [ProblemDetails.Finding] = []

    func add(_ path: String, _ message: String) { items.append(.init(path: path, message: message)) }

    /// Throws the 422 when anything was found.
    func throwIfAny() throws {
        if !items.isEmpty { throw APIError.validation(items) }
    }
}

/// Reads the fields of one JSON object, recording a finding (with its JSON path) for each
/// missing, mistyped, malformed or unknown field rather than stopping at the first.
struct FieldReader {
    let fields: [String: JSONValue]
    let path: String
    let findings: Findings
    private var read: Set<String> = []

    init(_ fields: [String: JSONValue], path: String, findings: Findings) {
        self.fields = fields
        self.path = path
        self.findings = findings
    }

    func at(_ key: String) -> String { "\(path).\(key)" }

    private mutating func value(_ key: String, required: Bool) -> JSONValue? {
        read.insert(key)
        guard let value = fields[key], value != .null else {
            if required { findings.add(at(key), "is required") }
            return nil
        }
        return value
    }

    /// A string of 1...maxLength characters (no NUL), optionally passing `check`.
    mutating func string(
        _ key: String,
        required: Bool = true,
        maxLength: Int,
        check: ((String) -> Bool)? = nil,
        expected: String? = nil
    ) -> String? {
        guard let value = value(key, required: required) else { return nil }
        guard case .string(let text) = value else {
            findings.add(at(key), "must be a string, not \(value.kind)")
            return nil
        }
        if text.isEmpty {
            findings.add(at(key), "must not be empty")
            return nil
        }
        if text.count > maxLength {
            findings.add(at(key), "must be at most \(maxLength) characters (got \(text.count))")
            return nil
        }
        if text.unicodeScalars.contains("\u{0}") {
            findings.add(at(key), "must not contain NUL characters")
            return nil
        }
        if let check, !check(text) {
            findings.add(at(key), expected.map { "must be \($0)" } ?? "is not valid")
            return nil
        }
        return text
    }

    /// A string matching a regular expression (whole string).
    mutating func string(_ key: String, required: Bool = true, maxLength: Int, pattern: String, expected: String) -> String? {
        string(
            key, required: required, maxLength: maxLength, check: { $0.range(of: "^(?:\(pattern))$", options: .regularExpression) != nil },
            expected: expected)
    }

    mutating func int(_ key: String, required: Bool = true, range: ClosedRange<Int>) -> Int? {
        guard let value = value(key, required: required) else { return nil }
        guard case .number(let number) = value, number.rounded() == number, let int = Int(exactly: number) else {
            findings.add(at(key), "must be a whole number, not \(value.kind)")
            return nil
        }
        guard range.contains(int) else {
            findings.add(at(key), "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return int
    }

    mutating func bool(_ key: String, required: Bool = true) -> Bool? {
        guard let value = value(key, required: required) else { return nil }
        guard case .bool(let flag) = value else {
            findings.add(at(key), "must be true or false, not \(value.kind)")
            return nil
        }
        return flag
    }

    mutating func uuid(_ key: String, required: Bool = true) -> UUID? {
        guard let text = string(key, required: required, maxLength: 36) else { return nil }
        guard let id = UUID(uuidString: text) else {
            findings.add(at(key), "must be a UUID")
            return nil
        }
        return id
    }

    mutating func date(_ key: String, required: Bool = true) -> CalendarDate? {
        guard let text = string(key, required: required, maxLength: 10) else { return nil }
        guard let date = CalendarDate(text) else {
            findings.add(at(key), "must be a date as YYYY-MM-DD")
            return nil
        }
        return date
    }

    mutating func object(_ key: String, required: Bool = true) -> FieldReader? {
        guard let value = value(key, required: required) else { return nil }
        guard case .object(let nested) = value else {
            findings.add(at(key), "must be an object, not \(value.kind)")
            return nil
        }
        return FieldReader(nested, path: at(key), findings: findings)
    }

    /// The elements of an array with their paths, at most `maxCount` of them.
    mutating func array(_ key: String, required: Bool = true, maxCount: Int) -> [(path: String, value: JSONValue)]? {
        guard let value = value(key, required: required) else { return nil }
        guard case .array(let elements) = value else {
            findings.add(at(key), "must be an array, not \(value.kind)")
            return nil
        }
        guard elements.count <= maxCount else {
            findings.add(at(key), "must have at most \(maxCount) entries (got \(elements.count))")
            return nil
        }
        return elements.enumerated().map { (path: "\(at(key))[\($0.offset)]", value: $0.element) }
    }

    /// Records a finding for every field that was never read: unknown fields are refused,
    /// so a misspelt optional field is not silently ignored.
    func rejectUnknownFields() {
        for key in fields.keys.sorted() where !read.contains(key) {
            findings.add(at(key), "is not a known field")
        }
    }
}

/// Encodes response bodies: snake_case keys, ISO 8601 times, sorted keys.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
