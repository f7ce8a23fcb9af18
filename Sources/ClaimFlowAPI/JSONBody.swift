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

    // A JSON value decodes as exactly one of these types, so their order changes no result;
    // each miss costs an error with its coding path, so the kinds bodies hold most (text, then
    // objects) are tried first.
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
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

/// Reads request bodies: checks the media type and the size limit, parses JSON, checks it
/// against the request type's schema, and decodes it. The one decoding path of every route.
enum JSONBody {
    /// The largest JSON body accepted (documented in the OpenAPI document).
    static let limit = 1 << 20
    /// The largest NDJSON batch accepted.
    static let batchLimit = 16 << 20

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

    /// One JSON text as `Body`: every problem with its shape, and every rule of `Body`'s own,
    /// in one 422.
    static func decode<Body: RequestBody>(_ type: Body.Type, from data: Data, path: String = "$") throws -> Body {
        let value = try parse(data, path: path)
        var checker = SchemaChecker()
        checker.check(value, Body.schema, at: "$")
        guard checker.findings.isEmpty else { throw APIError.validation(checker.findings) }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch {
            // The schema passed, so the type and its schema disagree: a defect of ours, not the client's.
            throw RequestSchemaMismatch(type: "\(Body.self)", underlying: "\(error)")
        }
        let findings = body.findings()
        guard findings.isEmpty else { throw APIError.validation(findings) }
        return body
    }
}

/// A request type whose schema accepted a body its decoder then refused.
struct RequestSchemaMismatch: Error, CustomStringConvertible {
    let type: String
    let underlying: String
    var description: String { "request type \(type) does not decode what its schema accepts: \(underlying)" }
}

/// A JSON request body: its schema (checked first, collecting every problem) and its
/// decoding (explicit `CodingKeys`, so renaming a property cannot change the API).
protocol RequestBody: Decodable, Sendable {
    static var schema: JSONSchema { get }
    /// Problems the schema cannot state, such as fields required together; each with its path.
    func findings() -> [ProblemDetails.Finding]
}

extension RequestBody {
    func findings() -> [ProblemDetails.Finding] { [] }
}

extension Request {
    /// The body as `Body`, refusing unknown fields and reporting every problem at once.
    func decode<Body: RequestBody>(_ type: Body.Type, limit: Int = JSONBody.limit) async throws -> Body {
        try JSONBody.requireMediaType(self, "application/json")
        return try JSONBody.decode(type, from: try await JSONBody.bytes(self, limit: limit))
    }

    /// `wait=N` seconds for a long poll, 0 to 30.
    func waitSeconds() throws -> Int {
        guard let text = uri.queryParameters.get("wait") else { return 0 }
        guard let seconds = Int(text), (0...30).contains(seconds) else {
            throw APIError.validation([.init(path: "query.wait", message: "must be a whole number of seconds from 0 to 30")])
        }
        return seconds
    }
}

/// A body of just the caller's lease id: complete, heartbeat, submit.
struct LeaseRequest: RequestBody {
    let leaseID: UUID
    enum CodingKeys: String, CodingKey { case leaseID = "lease_id" }
    static let schema = JSONSchema.leaseOnly
}

/// Response bodies, written by ``WireJSON``.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try WireJSON.encode(value)))
        )
    }
}
