public import ClaimFlowCore
import Crypto
public import Foundation
public import Logging
public import PostgresNIO

/// Users, the practices they work in, and their API tokens.
public struct UserStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates a user, or updates the roles, practices and skills of the user with that name.
    public func upsert(_ user: User) async throws -> UUID {
        let roles = user.roles.map(\.rawValue).sorted()
        let skills = user.skills.sorted()
        let practices = Array(user.practiceIDs)
        return try await client.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                INSERT INTO users (username, display_name, roles, skills, active)
                VALUES (\(user.username), \(user.displayName), \(roles), \(skills), \(user.active))
                ON CONFLICT (username) DO UPDATE
                SET display_name = EXCLUDED.display_name, roles = EXCLUDED.roles, skills = EXCLUDED.skills,
                    active = EXCLUDED.active
                RETURNING id
                """,
                logger: logger
            )
            var userID: UUID?
            for try await id in rows.decode(UUID.self) { userID = id }
            guard let userID else { throw StoreError(.conflict, "user was not saved") }
            try await connection.query(
                "DELETE FROM user_practices WHERE user_id = \(userID) AND NOT (practice_id = ANY (\(practices)))",
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO user_practices (user_id, practice_id)
                SELECT \(userID), unnest(\(practices)::uuid[])
                ON CONFLICT DO NOTHING
                """,
                logger: logger
            )
            return userID
        }
    }

    /// Issues a new bearer token for the user and returns it. Only its SHA-256 digest is
    /// stored, so this is the one time anyone sees the token.
    public func issueToken(userID: UUID, label: String, audit: AuditContext) async throws -> String {
        let token = Self.makeToken()
        let digest = Data(SHA256.hash(data: Data(token.utf8)))
        let rows = try await client.query(
            """
            WITH issued AS (
                INSERT INTO api_tokens (user_id, token_hash, label)
                VALUES (\(userID), \(digest), \(label))
                RETURNING id
            ), logged AS (
                INSERT INTO events (actor_id, action, client_address, request_id, detail)
                SELECT \(audit.actorID), 'token.issued', \(audit.clientAddress), \(audit.requestID),
                       jsonb_build_object('user_id', \(userID), 'token_id', id)
                FROM issued
            )
            SELECT id FROM issued
            """,
            logger: logger
        )
        for try await _ in rows.decode(UUID.self) { return token }
        throw StoreError(.notFound, "user \(userID) not found")
    }

    /// Revokes every live token of the user that carries `label`; returns how many.
    @discardableResult
    public func revokeTokens(userID: UUID, label: String, audit: AuditContext) async throws -> Int {
        let rows = try await client.query(
            """
            WITH revoked AS (
                UPDATE api_tokens SET revoked_at = now()
                WHERE user_id = \(userID) AND label = \(label) AND revoked_at IS NULL
                RETURNING id
            ), logged AS (
                INSERT INTO events (actor_id, action, client_address, request_id, detail)
                SELECT \(audit.actorID), 'token.revoked', \(audit.clientAddress), \(audit.requestID),
                       jsonb_build_object('user_id', \(userID), 'token_id', id)
                FROM revoked
            )
            SELECT count(*)::int FROM revoked
            """,
            logger: logger
        )
        var count = 0
        for try await revoked in rows.decode(Int.self) { count = revoked }
        return count
    }

    /// 32 random bytes, base64url without padding: 43 URL-safe characters.
    static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "cf_"
            + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
