import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("API tokens on a real PostgreSQL")
struct TokenStorageTests {
    @Test("an issued token is stored only as its SHA-256 digest: no column, and no table, holds the token")
    func tokensStoredOnlyAsHashes() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let user = try await fixture.user("coder")
            let token = try await fixture.users.issueToken(userID: user, label: "laptop", audit: .system)
            #expect(token.hasPrefix("cf_") && token.count == 46)
            // What a copy could look like: the token, its random part, or its bytes in hex.
            let secret = String(token.dropFirst(3))
            let hex = token.utf8.map { String(format: "%02x", $0) }.joined()

            // The digest is SHA-256 of the token's UTF-8 bytes, as PostgreSQL computes it.
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*)::int FROM api_tokens
                    WHERE user_id = \(user) AND token_hash = sha256(convert_to(\(token), 'UTF8'))
                    """
                ) == 1
            )
            #expect(try await fixture.count("SELECT count(*)::int FROM api_tokens WHERE user_id = \(user)") == 1)

            // No column of the row equals the token or contains it.
            let columns = try await client.query(
                """
                SELECT key, coalesce(value, '') FROM api_tokens t, jsonb_each_text(to_jsonb(t))
                WHERE t.user_id = \(user)
                """,
                logger: TestDatabase.logger
            )
            var names: [String] = []
            for try await (name, value) in columns.decode((String, String).self) {
                names.append(name)
                let lowered = value.lowercased()
                #expect(value != token && !value.contains(secret) && !lowered.contains(hex), "column \(name) holds the token")
            }
            #expect(names.contains("token_hash") && names.contains("label"))

            // Nor does any row of any table (the audit events included).
            let tables = try await client.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                logger: TestDatabase.logger
            )
            var tableNames: [String] = []
            for try await name in tables.decode(String.self) { tableNames.append(name) }
            #expect(tableNames.contains("events"))
            for table in tableNames {
                // The name comes from the catalog; the secret is bound.
                var query = PostgresQuery(
                    unsafeSQL: """
                        SELECT count(*)::int FROM "\(table)" t
                        WHERE strpos(t::text, $1) > 0 OR strpos(lower(t::text), $2) > 0
                        """
                )
                query.binds.append(secret, context: .default)
                query.binds.append(hex, context: .default)
                #expect(try await fixture.count(query) == 0, "table \(table) holds the token")
            }

            // The token, and only the token, names the user.
            #expect(try await fixture.users.principal(forToken: token)?.userID == user)
            #expect(try await fixture.users.principal(forToken: token + "A") == nil)
            #expect(try await fixture.users.principal(forToken: secret) == nil)
        }
    }

    @Test("a token whose expiry has passed names no one; one that expires later works and is listed with its expiry")
    func expiredTokensAreRefused() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let user = try await fixture.user("coder")
            let forever = try await fixture.users.issueToken(userID: user, label: "forever", audit: .system)
            let later = try await fixture.users.issueToken(userID: user, label: "later", expiresInDays: 30, audit: .system)
            let past = try await fixture.users.issueToken(userID: user, label: "past", expiresInDays: 1, audit: .system)
            _ = try await client.query(
                "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE user_id = \(user) AND label = 'past'",
                logger: TestDatabase.logger
            )
            #expect(try await fixture.users.principal(forToken: forever)?.userID == user)
            #expect(try await fixture.users.principal(forToken: later)?.userID == user)
            #expect(try await fixture.users.principal(forToken: past) == nil)

            let listed = Dictionary(uniqueKeysWithValues: try await fixture.users.tokens(of: user).map { ($0.label, $0) })
            #expect(listed["forever"]?.expiresAt == nil)
            let expiry = try #require(listed["later"]?.expiresAt)
            #expect(abs(expiry.timeIntervalSinceNow - 30 * 86_400) < 120)
        }
    }

    @Test("last_used_at is set by the first use, left alone within the minute, and moved once it is a minute old")
    func lastUsedAtAtMostOnceAMinute() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let user = try await fixture.user("coder")
            let token = try await fixture.users.issueToken(userID: user, label: "busy", audit: .system)
            let other = try await fixture.users.issueToken(userID: user, label: "idle", audit: .system)
            func lastUsed(_ label: String) async throws -> Date? {
                let rows = try await client.query(
                    "SELECT last_used_at FROM api_tokens WHERE user_id = \(user) AND label = \(label)",
                    logger: TestDatabase.logger
                )
                for try await value in rows.decode(Date?.self) { return value }
                Issue.record("no token labelled \(label)")
                return nil
            }
            #expect(try await lastUsed("busy") == nil)

            #expect(try await fixture.users.principal(forToken: token)?.userID == user)
            let first = try #require(try await lastUsed("busy"))
            #expect(abs(first.timeIntervalSinceNow) < 60)
            #expect(try await lastUsed("idle") == nil, "only the token used is touched")

            #expect(try await fixture.users.principal(forToken: token)?.userID == user)
            #expect(try await lastUsed("busy") == first, "a second use within the minute leaves it")

            _ = try await client.query(
                "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE user_id = \(user) AND label = 'busy'",
                logger: TestDatabase.logger
            )
            let aged = try #require(try await lastUsed("busy"))
            #expect(try await fixture.users.principal(forToken: token)?.userID == user)
            let moved = try #require(try await lastUsed("busy"))
            #expect(moved > aged.addingTimeInterval(100) && abs(moved.timeIntervalSinceNow) < 60)

            // A failed lookup writes nothing.
            #expect(try await fixture.users.principal(forToken: other + "A") == nil)
            #expect(try await lastUsed("idle") == nil)
        }
    }
}
