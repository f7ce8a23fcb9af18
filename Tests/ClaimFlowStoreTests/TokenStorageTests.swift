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
                try query.binds.append(secret, context: .default)
                try query.binds.append(hex, context: .default)
                #expect(try await fixture.count(query) == 0, "table \(table) holds the token")
            }

            // The token, and only the token, names the user.
            #expect(try await fixture.users.principal(forToken: token)?.userID == user)
            #expect(try await fixture.users.principal(forToken: token + "A") == nil)
            #expect(try await fixture.users.principal(forToken: secret) == nil)
        }
    }
}
