import ClaimFlowTestSupport
import Foundation
import PostgresNIO

/// The whole content of the tables a flow can change, as one comparable value: "a replay
/// changes nothing" is checked by taking one before and one after.
struct DatabaseSnapshot: Equatable, CustomStringConvertible {
    /// Row count and a digest of every row, per table.
    let tables: [String: String]

    static let watched = [
        "encounters", "work_items", "claims", "claim_answers", "service_lines", "diagnoses", "events", "interchanges",
        "interchange_claims", "handoff_findings", "provider_queries",
    ]

    static func take(_ client: PostgresClient) async throws -> DatabaseSnapshot {
        var tables: [String: String] = [:]
        for table in watched {
            // Table names come from the constant list above, never from input.
            let rows = try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
                        FROM \(table) t
                        """
                ),
                logger: TestDatabase.logger
            )
            for try await digest in rows.decode(String.self) { tables[table] = digest }
        }
        return DatabaseSnapshot(tables: tables)
    }

    var description: String { tables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
}
