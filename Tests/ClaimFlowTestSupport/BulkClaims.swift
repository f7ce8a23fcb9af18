import ClaimFlowCore
import ClaimFlowStore
public import Foundation
import PostgresNIO

extension Fixture {
    /// `count` submitted claims waiting in the outbox, fast enough for thousands: one taken
    /// through the real paths, the rest for encounters received in bulk, moved through each
    /// stage in bulk SQL (the stage trigger checks every move) and given a copy of the first
    /// one's snapshot, as a payer's rejection copies one. Returns the claim ids.
    public func submittedClaims(_ count: Int, coder: UUID, biller: UUID, prefix: String = "OUTBOX") async throws -> [UUID] {
        let template = try await submittedClaim("\(prefix)-TEMPLATE", coder: coder, biller: biller)
        guard count > 1 else { return [template] }
        let encounters = try await receiveMany(count - 1, prefix: prefix)
        return try await client.transaction(logger: TestDatabase.logger) { connection in
            let moves: [(Stage, Stage)] = [
                (.readyToCode, .coding), (.coding, .coded), (.coded, .readyToBill), (.readyToBill, .billing), (.billing, .submitted),
            ]
            for (from, to) in moves {
                try await connection.query(
                    """
                    UPDATE encounters SET stage = \(to.rawValue), coded_by = \(coder)
                    WHERE id = ANY (\(encounters)) AND stage = \(from.rawValue)
                    """,
                    logger: TestDatabase.logger
                )
            }
            try await connection.query("DELETE FROM work_items WHERE encounter_id = ANY (\(encounters))", logger: TestDatabase.logger)
            let rows = try await connection.query(
                """
                INSERT INTO claims (encounter_id, version, coding_version, frequency_code, total_charge, coded_by, snapshot, status,
                                    submitted_by, submitted_at)
                SELECT t.id, 1, 1, '1', c.total_charge, c.coded_by, c.snapshot, 'submitted', \(biller),
                       now() + t.n * interval '1 microsecond'
                FROM unnest(\(encounters)::uuid[]) WITH ORDINALITY AS t(id, n), claims c
                WHERE c.id = \(template)
                RETURNING id
                """,
                logger: TestDatabase.logger
            )
            var ids = [template]
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            return ids
        }
    }
}
