public import ClaimFlowCore
import Crypto
public import Foundation
import PostgresNIO

/// Users, the practices they work in, and their API tokens.
public struct UserStore: DatabaseStore {
    public let database: Database
    /// Where the principals of recent tokens are kept; every change here to who a token stands
    /// for empties it at once.
    public let principals: PrincipalCache?

    public init(database: Database) { self.init(database: database, principals: nil) }

    public init(database: Database, principals: PrincipalCache?) {
        self.database = database
        self.principals = principals
    }

    /// Creates a user, or updates the roles, practices and skills of the user with that name.
    ///
    /// With `managed`, the save is an administrator's, who manages only users all of whose
    /// practices are among `managed`: a name held by anyone else is refused (409), never taken
    /// over. Saves of one name are serialised by a lock on the name, so two administrators
    /// creating the same new name cannot both create it.
    public func upsert(_ user: User, managed: Set<UUID>? = nil, audit: AuditContext) async throws -> UUID {
        let roles = user.roles.map(\.rawValue).sorted()
        let skills = user.skills.sorted()
        let practices = Array(user.practiceIDs)
        defer { principals?.invalidateAll() }
        return try await database.transaction { connection in
            if let managed {
                try await database.lock(.userName(user.username), on: connection)
                let held = try await database.first(
                    [UUID].self,
                    """
                    SELECT coalesce(array_agg(up.practice_id) FILTER (WHERE up.practice_id IS NOT NULL), '{}')
                    FROM users u LEFT JOIN user_practices up ON up.user_id = u.id
                    WHERE u.username = \(user.username)
                    GROUP BY u.id
                    """,
                    on: connection
                )
                if let held, !Set(held).isSubset(of: managed) {
                    throw StoreError(.conflict, "the username \(user.username) is taken")
                }
            }
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
            let detail = try jsonObject(["user_id": userID.uuidString, "roles": roles.joined(separator: ",")])
            try await AuditEntry("user.saved", by: audit, detail: "\(detail)::jsonb").write(on: connection, logger: logger)
            return userID
        }
    }

    /// Issues a new bearer token for the user and returns it. Only its SHA-256 digest is
    /// stored, so this is the one time anyone sees the token. With `expiresInDays` the token
    /// stops working that many days from now; without it, it lives until revoked.
    public func issueToken(
        userID: UUID, label: String, expiresInDays: Int? = nil, audit: AuditContext
    ) async throws -> String {
        try await issue(userID: userID, label: label, expiresInDays: expiresInDays, audit: audit).token
    }

    /// ``issueToken(userID:label:expiresInDays:audit:)``, also returning the token's id, by which
    /// it is listed and revoked.
    public func issue(
        userID: UUID, label: String, expiresInDays: Int? = nil, audit: AuditContext
    ) async throws -> (id: UUID, token: String) {
        let token = Self.makeToken()
        let digest = Data(SHA256.hash(data: Data(token.utf8)))
        let logged = Self.tokenEvent("token.issued", userID: userID, audit: audit, rows: "FROM issued")
        let rows = try await client.query(
            """
            WITH issued AS (
                INSERT INTO api_tokens (user_id, token_hash, label, expires_at)
                VALUES (\(userID), \(digest), \(label), now() + make_interval(days => \(expiresInDays)::int))
                RETURNING id
            ), logged AS (
                \(logged)
            )
            SELECT id FROM issued
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return (id, token) }
        throw StoreError(.notFound, "user \(userID) not found")
    }

    /// Revokes every live token of the user that carries `label`; returns how many.
    @discardableResult
    public func revokeTokens(userID: UUID, label: String, audit: AuditContext) async throws -> Int {
        let logged = Self.tokenEvent("token.revoked", userID: userID, audit: audit, rows: "FROM revoked")
        defer { principals?.invalidateAll() }
        return try await database.count(
            """
            WITH revoked AS (
                UPDATE api_tokens SET revoked_at = now()
                WHERE user_id = \(userID) AND label = \(label) AND revoked_at IS NULL
                RETURNING id
            ), logged AS (
                \(logged)
            )
            SELECT count(*)::int FROM revoked
            """
        )
    }

    /// The user a bearer token belongs to, when the token is live (not revoked, not expired)
    /// and the user is active. Revocation therefore takes effect on the very next request:
    /// a principal kept in ``principals`` is dropped by the revocation itself in this process
    /// and by its notification in every other (see ``PrincipalCache``).
    ///
    /// A successful lookup also records the token's `last_used_at`, at most once a minute so
    /// that a busy token does not rewrite its row on every request, and in the same statement
    /// (a writable CTE) so that authentication stays one round trip.
    public func principal(forToken token: String) async throws -> Principal? {
        let digest = Data(SHA256.hash(data: Data(token.utf8)))
        let miss: PrincipalCache.Miss?
        switch principals?.lookup(digest) {
        case .success(let principal): return principal
        case .failure(let missed): miss = missed
        case nil: miss = nil
        }
        let rows = try await client.query(
            """
            WITH live AS (
                SELECT t.id AS token_id, u.id AS user_id, t.expires_at
                FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = \(digest) AND t.revoked_at IS NULL
                  AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.active
            ), touched AS (
                UPDATE api_tokens SET last_used_at = now()
                WHERE id IN (SELECT token_id FROM live)
                  AND (last_used_at IS NULL OR last_used_at <= now() - interval '1 minute')
            )
            SELECT u.id, u.username, u.roles, u.skills,
                   coalesce(array_agg(up.practice_id) FILTER (WHERE up.practice_id IS NOT NULL), '{}'),
                   min(live.expires_at)
            FROM live
            JOIN users u ON u.id = live.user_id
            LEFT JOIN user_practices up ON up.user_id = u.id
            GROUP BY u.id
            """,
            logger: logger
        )
        for try await (id, username, roles, skills, practices, expiresAt) in rows.decode(
            (UUID, String, [String], [String], [UUID], Date?).self
        ) {
            let principal = Principal(
                userID: id,
                username: username,
                roles: Set(roles.compactMap(Role.init(rawValue:))),
                practiceIDs: Set(practices),
                skills: Set(skills)
            )
            if let miss { principals?.keep(principal, for: digest, expiresAt: expiresAt, after: miss) }
            return principal
        }
        return nil
    }

    /// Users who work in at least one of `practiceIDs`, or every user when nil.
    public func users(inAnyOf practiceIDs: Set<UUID>?) async throws -> [User] {
        try await users(practiceIDs: practiceIDs, username: nil, id: nil)
    }

    /// The user with this name.
    public func user(named username: String) async throws -> User? {
        try await users(practiceIDs: nil, username: username, id: nil).first
    }

    /// The user with this id.
    public func user(id: UUID) async throws -> User? {
        try await users(practiceIDs: nil, username: nil, id: id).first
    }

    private func users(practiceIDs: Set<UUID>?, username: String?, id: UUID?) async throws -> [User] {
        let filter = practiceIDs.map { Array($0) }
        let rows = try await client.query(
            """
            SELECT u.id, u.username, u.display_name, u.roles, u.skills, u.active,
                   coalesce(array_agg(up.practice_id) FILTER (WHERE up.practice_id IS NOT NULL), '{}')
            FROM users u LEFT JOIN user_practices up ON up.user_id = u.id
            WHERE (\(username)::text IS NULL OR u.username = \(username))
              AND (\(id)::uuid IS NULL OR u.id = \(id))
            GROUP BY u.id
            HAVING \(filter)::uuid[] IS NULL OR bool_or(up.practice_id = ANY (\(filter)::uuid[]))
            ORDER BY u.username
            """,
            logger: logger
        )
        var result: [User] = []
        for try await (id, username, name, roles, skills, active, practices) in rows.decode(
            (UUID, String, String, [String], [String], Bool, [UUID]).self
        ) {
            result.append(
                User(
                    id: id, username: username, displayName: name, roles: Set(roles.compactMap(Role.init(rawValue:))),
                    practiceIDs: Set(practices), skills: Set(skills), active: active
                )
            )
        }
        return result
    }

    /// A token's metadata; the token itself is never stored.
    public struct TokenInfo: Sendable, Hashable, Codable {
        public let id: UUID
        public let label: String
        public let createdAt: Date
        public let revokedAt: Date?
        /// When the token stops working; nil for a token that lives until revoked.
        public let expiresAt: Date?
    }

    /// The user's tokens, newest first.
    public func tokens(of userID: UUID) async throws -> [TokenInfo] {
        let rows = try await client.query(
            """
            SELECT id, label, created_at, revoked_at, expires_at FROM api_tokens
            WHERE user_id = \(userID) ORDER BY created_at DESC
            """,
            logger: logger
        )
        var result: [TokenInfo] = []
        for try await (id, label, created, revoked, expires) in rows.decode((UUID, String, Date, Date?, Date?).self) {
            result.append(TokenInfo(id: id, label: label, createdAt: created, revokedAt: revoked, expiresAt: expires))
        }
        return result
    }

    /// Revokes one token of the user; effective on the very next request.
    public func revokeToken(_ tokenID: UUID, of userID: UUID, audit: AuditContext) async throws {
        let logged = Self.tokenEvent("token.revoked", userID: userID, audit: audit, rows: "FROM revoked")
        defer { principals?.invalidateAll() }
        let revoked = try await database.count(
            """
            WITH revoked AS (
                UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
                WHERE id = \(tokenID) AND user_id = \(userID)
                RETURNING id
            ), logged AS (
                \(logged)
            )
            SELECT count(*)::int FROM revoked
            """
        )
        guard revoked == 1 else { throw StoreError(.notFound, "token \(tokenID) of user \(userID) not found") }
    }

    /// The audit entry of a token issued or revoked: the token's id comes from `rows`.
    private static func tokenEvent(_ action: String, userID: UUID, audit: AuditContext, rows: SQLFragment) -> AuditEntry {
        AuditEntry(
            action, by: audit, detail: "jsonb_build_object('user_id', \(userID), 'token_id', id)", rows: rows
        )
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
