import Foundation
public import PostgresNIO

/// The whole content of every table of the ClaimFlow schema, as one comparable value:
/// "this changes nothing" is checked by taking one before and one after.
public struct TableSnapshot: Equatable, Sendable, CustomStringConvertible {
    /// Row count and a digest of every row, per table.
    public let tables: [String: String]

    /// Every base table in the `public` schema but `excluding`, each as its row count and the
    /// MD5 of its rows in a fixed order.
    public static func take(_ client: PostgresClient, excluding: Set<String> = []) async throws -> TableSnapshot {
        var names: [String] = []
        let listed = try await client.query(
            """
            SELECT table_name::text FROM information_schema.tables
            WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
            ORDER BY table_name
            """,
            logger: TestDatabase.logger
        )
        for try await name in listed.decode(String.self) { names.append(name) }
        var tables: [String: String] = [:]
        for name in names where !excluding.contains(name) {
            // The name comes from the catalog, quoted as an identifier.
            let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let rows = try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
                        FROM \(quoted) t
                        """
                ),
                logger: TestDatabase.logger
            )
            for try await digest in rows.decode(String.self) { tables[name] = digest }
        }
        return TableSnapshot(tables: tables)
    }

    /// The request-level view: everything but the tokens' own bookkeeping (when each was last
    /// used), which authenticating a request may write.
    public static func ofWork(_ client: PostgresClient) async throws -> TableSnapshot {
        try await take(client, excluding: ["api_tokens"])
    }

    /// The tables whose content differs from `other`'s, by name.
    public func differences(from other: TableSnapshot) -> [String] {
        Set(tables.keys).union(other.tables.keys).filter { tables[$0] != other.tables[$0] }.sorted()
    }

    public var description: String { tables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
}
