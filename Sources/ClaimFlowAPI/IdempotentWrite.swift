import ClaimFlowCore
import ClaimFlowStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PostgresNIO

/// Safe retries of the holder's writes (`Idempotency-Key`, issue 11).
///
/// A client that lost the answer to a write cannot tell whether it committed. With a key, it
/// sends the same request again: when the first one committed, it gets the first answer
/// (status and body, with `Idempotent-Replayed: true`) and nothing changes; when it did not,
/// the write is made now. The key is taken, the write made and its answer kept in one
/// transaction, so there is no moment where the write is committed and its answer is not; a
/// concurrent request with the same key waits for the first and then replays it. Only
/// successful answers are kept: a refused write changed nothing, so its retry runs again.
/// The same key with another request (another operation, resource or body) is a 422
/// `idempotency-key-reused`. Keys are the user's own and last 24 hours.
struct IdempotentWrite: Sendable {
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    let stores: APIStores

    /// The request's key, for `operation` on this path with this body; nil without the header.
    ///
    /// The digest is taken over the body as a JSON value (keys sorted, no insignificant white
    /// space), so a client that serializes the same object again, in another key order, sends
    /// the same request.
    static func key(
        _ request: Request, _ context: ClaimFlowRequestContext, operation: String, body: Data
    ) throws -> IdempotencyKey? {
        guard let text = request.headers[header] else { return nil }
        let principal = try context.requirePrincipal()
        let canonical =
            (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]))
            .flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) } ?? body
        guard
            let key = IdempotencyKey(
                userID: principal.userID, key: text, operation: operation, path: request.uri.path, body: canonical)
        else {
            throw APIError.validation([
                .init(path: "header.Idempotency-Key", message: "must be 1 to 200 printable ASCII characters, without spaces")
            ])
        }
        return key
    }

    /// Makes `write` in one transaction and answers with what it returns; with a key, kept for
    /// retries (or, for a retry, the kept answer instead of a second write).
    ///
    /// `writesInOneStatement`: `write` changes the database in a single statement (anything
    /// else it runs only reads), so without a key it needs no transaction of its own, and is
    /// spared the two round trips of one.
    func run(
        _ request: Request,
        _ context: ClaimFlowRequestContext,
        operation: String,
        body: Data,
        writesInOneStatement: Bool = false,
        _ write: (PostgresConnection) async throws -> StoredAnswer
    ) async throws -> Response {
        let key = try Self.key(request, context, operation: operation, body: body)
        let client = stores.database.client
        if key == nil, writesInOneStatement {
            return Self.response(try await client.withConnection { try await write($0) }, replayed: false)
        }
        let answer: (StoredAnswer, replayed: Bool) = try await client.transaction(logger: stores.database.logger) { connection in
            if let key {
                switch try await stores.idempotency.claim(key, on: connection) {
                case .fresh: break
                case .replay(let stored): return (stored, true)
                case .mismatch(let other): throw Self.reused(key, other)
                }
            }
            let answer = try await write(connection)
            if let key { try await stores.idempotency.record(key, answer: answer, on: connection) }
            return (answer, false)
        }
        return Self.response(answer.0, replayed: answer.replayed)
    }

    static func reused(_ key: IdempotencyKey, _ operation: String) -> ProblemDetails {
        ProblemDetails(
            type: "idempotency-key-reused", title: "Unprocessable Content", status: .unprocessableContent,
            detail: operation == key.operation
                ? "this Idempotency-Key was used for a different request (another resource or body); use a new key"
                : "this Idempotency-Key was used for another operation; use a new key"
        )
    }

    static func response(_ answer: StoredAnswer, replayed: Bool) -> Response {
        var headers: HTTPFields = [:]
        if !answer.body.isEmpty { headers[.contentType] = "application/json" }
        if replayed { headers[replayedHeader] = "true" }
        return Response(
            status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }
}

extension StoredAnswer {
    /// A JSON answer as the API writes it.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> StoredAnswer {
        StoredAnswer(status: status.code, body: try WireJSON.encode(value))
    }
}

extension APIStores {
    var idempotency: IdempotencyStore { IdempotencyStore(database: database) }
}

extension Request {
    /// The body as `Body`, as ``decode(_:limit:)`` reads it, and its bytes (for the digest of
    /// a keyed write).
    func decodeKeepingBytes<Body: RequestBody>(_ type: Body.Type, limit: Int = JSONBody.limit) async throws -> (Body, Data) {
        try JSONBody.requireMediaType(self, "application/json")
        let data = try await JSONBody.bytes(self, limit: limit)
        return (try JSONBody.decode(type, from: data), data)
    }
}

/// A holder's write refused as stale that, by the audit trail, this very lease already made:
/// the retry of a write whose answer was lost, answered as the first time (no key needed).
func replayedFinish(
    _ error: any Error,
    stores: APIStores,
    encounterID: UUID? = nil,
    claimID: UUID? = nil,
    leaseID: UUID,
    holder: UUID,
    action: String
) async throws -> Bool {
    guard let error = error as? StoreError, [.staleLease, .wrongStage].contains(error.code) else { return false }
    return try await stores.queue.alreadyFinished(
        encounterID: encounterID, claimID: claimID, leaseID: leaseID, holder: holder, action: action
    )
}
