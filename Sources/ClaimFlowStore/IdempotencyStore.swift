import Crypto
public import Foundation
public import PostgresNIO

/// A client's name for one write, as sent in the `Idempotency-Key` header, with what it names:
/// whose write it is, which operation, and a digest of the request (path and body).
public struct IdempotencyKey: Sendable, Hashable {
    /// 1 to 200 printable ASCII characters, no spaces (the schema's CHECK says the same).
    public static let pattern = "^[!-~]{1,200}$"
    /// How long an answer is kept for a retry.
    public static let lifetime: Duration = .seconds(24 * 3600)

    public let userID: UUID
    public let key: String
    public let operation: String
    /// SHA-256 of the operation, the request's path and its body.
    public let digest: [UInt8]

    /// Nil when `key` is not 1 to 200 printable ASCII characters.
    public init?(userID: UUID, key: String, operation: String, path: String, body: some DataProtocol) {
        guard Self.isValid(key) else { return nil }
        self.userID = userID
        self.key = key
        self.operation = operation
        var hash = SHA256()
        hash.update(data: Data(operation.utf8))
        hash.update(data: Data([0]))
        hash.update(data: Data(path.utf8))
        hash.update(data: Data([0]))
        hash.update(data: Data(body))
        digest = Array(hash.finalize())
    }

    public static func isValid(_ key: String) -> Bool {
        let scalars = key.unicodeScalars
        return (1...200).contains(scalars.count) && scalars.allSatisfy { (0x21...0x7E).contains($0.value) }
    }
}

/// The first answer to a keyed write, kept for its retries.
public struct StoredAnswer: Sendable, Hashable {
    public let status: Int
    public let body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// What a key already stands for when a keyed write begins.
public enum IdempotencyClaim: Sendable, Hashable {
    /// A new key (or an expired one): the caller makes the write and records its answer.
    case fresh
    /// The write was made before: answer with this, change nothing.
    case replay(StoredAnswer)
    /// The key was used for another request (another operation, resource or body).
    case mismatch(operation: String)
}

/// Answers to keyed writes (`idempotency_keys`), so that a retry of a write whose answer was
/// lost gets that answer again instead of a refusal of its own committed work.
///
/// ``claim(_:on:)`` and ``record(_:answer:on:)`` run in the write's own transaction: the
/// answer is committed together with the write or not at all, and a concurrent request with
/// the same key waits on the key's row until the first one commits (then replays its answer)
/// or rolls back (then makes the write itself).
public struct IdempotencyStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Takes the key for this transaction, or says what it already stands for.
    ///
    /// The insert's `ON CONFLICT ... DO UPDATE ... WHERE expired` reuses an expired key as a
    /// fresh one; on a live key it changes nothing but still locks the row, so the read below
    /// sees the committed answer.
    public func claim(_ key: IdempotencyKey, on connection: PostgresConnection) async throws -> IdempotencyClaim {
        let lifetime = Double(IdempotencyKey.lifetime.components.seconds)
        let taken = try await database.count(
            """
            WITH taken AS (
                INSERT INTO idempotency_keys AS k (user_id, key, operation, request_digest, expires_at)
                VALUES (\(key.userID), \(key.key), \(key.operation), \(Data(key.digest)),
                        now() + make_interval(secs => \(lifetime)))
                ON CONFLICT (user_id, key) DO UPDATE
                SET operation = EXCLUDED.operation, request_digest = EXCLUDED.request_digest, status = NULL,
                    response = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
                WHERE k.expires_at <= now()
                RETURNING 1
            )
            SELECT count(*)::int FROM taken
            """,
            on: connection
        )
        if taken == 1 { return .fresh }
        return try await stored(key, on: connection) ?? .fresh
    }

    /// What a live key stands for, read without taking it (for pulls, whose answer is recorded
    /// after the lease is taken).
    public func lookup(_ key: IdempotencyKey) async throws -> IdempotencyClaim? {
        try await database.withConnection(nil) { try await stored(key, on: $0) }
    }

    private func stored(_ key: IdempotencyKey, on connection: PostgresConnection) async throws -> IdempotencyClaim? {
        let rows = try await connection.query(
            """
            SELECT operation, request_digest, status, response FROM idempotency_keys
            WHERE user_id = \(key.userID) AND key = \(key.key) AND expires_at > now() AND status IS NOT NULL
            """,
            logger: logger
        )
        for try await (operation, digest, status, response) in rows.decode((String, Data, Int, Data?).self) {
            guard operation == key.operation, Array(digest) == key.digest else { return .mismatch(operation: operation) }
            return .replay(StoredAnswer(status: status, body: Array(response ?? Data())))
        }
        return nil
    }

    /// Keeps the answer of a write made under a key taken by ``claim(_:on:)`` in this transaction.
    public func record(_ key: IdempotencyKey, answer: StoredAnswer, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE idempotency_keys SET status = \(answer.status), response = \(Data(answer.body))
            WHERE user_id = \(key.userID) AND key = \(key.key)
            """,
            logger: logger
        )
    }

    /// Keeps the answer of a pull, after the fact: nothing is written when the key is already
    /// live (a concurrent retry recorded first). Returns what the key stands for afterwards.
    public func recordPull(_ key: IdempotencyKey, answer: StoredAnswer) async throws -> IdempotencyClaim {
        try await database.transaction { connection in
            switch try await claim(key, on: connection) {
            case .fresh:
                try await record(key, answer: answer, on: connection)
                return .replay(answer)
            case let other:
                return other
            }
        }
    }

    /// Deletes up to `limit` expired keys; returns how many. Run by the lease reaper's pass.
    @discardableResult
    public func purgeExpired(limit: Int = 1000, on connection: PostgresConnection? = nil) async throws -> Int {
        try await database.count(
            """
            WITH gone AS (
                DELETE FROM idempotency_keys
                WHERE (user_id, key) IN (
                    SELECT user_id, key FROM idempotency_keys WHERE expires_at <= now()
                    ORDER BY expires_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING 1
            )
            SELECT count(*)::int FROM gone
            """,
            on: connection
        )
    }
}
