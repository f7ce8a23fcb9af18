public import ClaimFlowCore
public import Foundation
import Logging
import PostgresNIO

/// The 837P outbox: submitted claim versions, the interchanges that carry them, and the
/// record of which interchange files have been written.
public struct SubmissionStore: QueueStore {
    public let queue: WorkQueue

    /// The control number of previews; the sequence stops one short of it.
    public static let previewControlNumber = 999_999_999

    public init(queue: WorkQueue) { self.queue = queue }

    var claims: ClaimStore { ClaimStore(queue: queue) }

    /// An interchange as recorded: its file name and full text.
    public struct Interchange: Sendable, Hashable {
        public let id: Int64
        public let controlNumber: Int
        public let fileName: String
        public let content: String
        public let claimIDs: [UUID]
    }

    /// Runs `body`, one pass of the batcher, while this process holds the batcher's pass lock,
    /// so only one process writes the outbox folder at a time; returns nil without running it
    /// when `wait` is false and another batcher holds the lock.
    ///
    /// The lock is transaction-level (so it works behind PgBouncer in transaction mode), held
    /// by a transaction on a pooled connection of its own that does nothing else and ends when
    /// `body` does; `body` records and marks on other connections, whose commits must not wait
    /// for the pass (an interchange is committed before its file is written). Should the lock's
    /// connection be lost mid-pass, two writers could overlap; their temporary files are
    /// unique, so each rename still publishes a whole file.
    public func withPassLock<Result: Sendable>(wait: Bool, _ body: () async throws -> Result) async throws -> Result? {
        try await database.transaction { connection in
            if wait {
                try await database.lock(.submissionBatcherPass, on: connection)
            } else {
                guard try await database.tryLock(.submissionBatcherPass, on: connection) else { return nil }
            }
            return try await body()
        }
    }

    /// Records the next interchange: takes up to `limit` submitted claim versions that are in
    /// no interchange yet (SKIP LOCKED), numbers the interchange and group from their sequences,
    /// writes the 837P text and records it with its claims, all in one transaction. Returns nil
    /// when the outbox is empty or another batcher holds the batch lock.
    ///
    /// Nothing is written to disk here: the file is written from the record afterwards, so a
    /// crash at any point leaves every claim version in exactly one interchange.
    ///
    /// A claim the 837P writer refuses leaves the outbox in the same transaction, never to be
    /// retried or to hold back the claims behind it: the claim is ready again, its encounter
    /// goes back to billing (``sendBackToBilling(_:reason:on:)``) and the refusal is on the
    /// supervisors' failures list. A refusal of the envelope (the sender's settings) is no
    /// claim's fault: it fails the pass, and every claim stays in the outbox.
    public func recordNextInterchange(limit: Int, settings: X12Settings, now: Date = Date()) async throws -> Interchange? {
        try await database.transaction { connection in
            guard try await database.tryLock(.submissionBatcher, on: connection) else { return nil }
            var batch: [X12Claim] = []
            while batch.isEmpty {
                let rows = try await connection.query(
                    """
                    SELECT c.id FROM claims c
                    WHERE c.status = 'submitted'
                      AND NOT EXISTS (SELECT 1 FROM interchange_claims ic WHERE ic.claim_id = c.id)
                    ORDER BY c.submitted_at, c.id
                    LIMIT \(limit)
                    FOR UPDATE OF c SKIP LOCKED
                    """,
                    logger: logger
                )
                var ids: [UUID] = []
                for try await id in rows.decode(UUID.self) { ids.append(id) }
                guard !ids.isEmpty else { return nil }
                for id in ids {
                    let claim = try await claims.x12Claim(id, on: connection)
                    do {
                        _ = try X12Writer.interchange(settings.envelope(interchange: 1, group: 1, at: now), claims: [claim])
                        batch.append(claim)
                    } catch let error as X12Error where error.isAboutOneClaim {
                        // Submit checked this same snapshot, so only a stricter writer (a newer
                        // build) lands a claim here.
                        try await sendBackToBilling(id, reason: unwritableField(of: error), on: connection)
                    }
                }
            }

            var numbers: [Int] = []
            for sequence in ["interchange_control_numbers", "group_control_numbers"] {
                let next = try await connection.query("SELECT nextval(\(sequence))::bigint", logger: logger)
                for try await value in next.decode(Int.self) { numbers.append(value) }
            }
            let (control, group) = (numbers[0], numbers[1])
            let content = try X12Writer.interchange(
                settings.envelope(interchange: control, group: group, at: now), claims: batch, newlineAfterSegments: true
            )
            let fileName = "claimflow-\(String(format: "%09d", control)).837"
            let inserted = try await connection.query(
                """
                INSERT INTO interchanges (control_number, group_control_number, file_name, content, claim_count)
                VALUES (\(control), \(group), \(fileName), \(content), \(batch.count))
                RETURNING id
                """,
                logger: logger
            )
            var interchangeID: Int64 = 0
            for try await id in inserted.decode(Int64.self) { interchangeID = id }
            let numbersOfSets = batch.indices.map { String(format: "%04d", $0 + 1) }
            try await connection.query(
                """
                INSERT INTO interchange_claims (interchange_id, claim_id, transaction_set_number, patient_control_number)
                SELECT \(interchangeID), * FROM unnest(\(batch.map(\.claimID))::uuid[], \(numbersOfSets)::text[],
                                                      \(batch.map(\.patientControlNumber))::text[])
                """,
                logger: logger
            )
            try await AuditEntry(
                "claim.batched", by: .system, encounter: "e.id", practice: "e.practice_id",
                detail: "jsonb_build_object('claim_id', c.id, 'interchange_control_number', \(control))",
                rows: "FROM claims c JOIN encounters e ON e.id = c.encounter_id WHERE c.id = ANY (\(batch.map(\.claimID)))"
            ).write(on: connection, logger: logger)
            try await WorkerFailureStore(database: database).clearUnwritableClaims(ofBatchedClaims: batch.map(\.claimID), on: connection)
            return Interchange(
                id: interchangeID, controlNumber: control, fileName: fileName, content: content, claimIDs: batch.map(\.claimID)
            )
        }
    }

    /// Takes a claim the 837P writer refused out of the outbox, in the caller's transaction:
    /// the claim version is ready again (it never left ClaimFlow; submitting it again is refused
    /// with the same reason until billing corrects the data and sends a new version), the
    /// encounter goes back to the billing queue the way a front-end rejection does
    /// (`submitted -> rejected -> ready_to_bill`, with `reason` on both events), and the refusal
    /// is listed for supervisors as an `unwritable_claim` failure. Logs ids and the field only.
    func sendBackToBilling(_ claimID: UUID, reason: String, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            UPDATE claims c SET status = 'ready', submitted_at = NULL, submitted_by = NULL
            FROM encounters e
            WHERE c.id = \(claimID) AND e.id = c.encounter_id
            RETURNING c.encounter_id, e.stage
            """,
            logger: logger
        )
        var found: (UUID, String)?
        for try await row in rows.decode((UUID, String).self) { found = row }
        guard let found else { return }
        let (encounterID, stage) = found
        let detail = try jsonObject(["claim_id": claimID.uuidString, "reason": reason])
        if stage == Stage.submitted.rawValue {
            try await queue.moveStage(
                encounterID, from: .submitted, to: .rejected, action: "claim.unwritable", detail: detail, audit: .system,
                on: connection
            )
            database.metrics.transition(from: .submitted, to: .rejected)
            try await queue.enqueue(
                encounterID: encounterID, from: .rejected, to: .readyToBill, priority: 60, audit: .system,
                action: "claim.back_to_billing", detail: detail, on: connection
            )
        }
        try await WorkerFailureStore(database: database).recordUnwritableClaim(
            claimID, encounterID: encounterID, reason: reason, on: connection
        )
        logger.error(
            "claim cannot be written as an 837P; sent back to billing",
            metadata: ["claim_id": "\(claimID)", "encounter_id": "\(encounterID)", "field": "\(reason)"]
        )
    }

    /// Interchanges recorded but not yet written to the outbox folder, oldest first.
    public func unwrittenInterchanges() async throws -> [Interchange] {
        let rows = try await client.query(
            """
            SELECT i.id, i.control_number, i.file_name, i.content,
                   coalesce(array_agg(ic.claim_id) FILTER (WHERE ic.claim_id IS NOT NULL), '{}')
            FROM interchanges i LEFT JOIN interchange_claims ic ON ic.interchange_id = i.id
            WHERE i.written_at IS NULL
            GROUP BY i.id ORDER BY i.id
            """,
            logger: logger
        )
        var result: [Interchange] = []
        for try await (id, control, name, content, claimIDs) in rows.decode((Int64, Int, String, String, [UUID]).self) {
            result.append(Interchange(id: id, controlNumber: control, fileName: name, content: content, claimIDs: claimIDs))
        }
        return result
    }

    /// Notes that the interchange's file is in the outbox, synced.
    public func markWritten(_ interchangeID: Int64) async throws {
        try await client.query(
            "UPDATE interchanges SET written_at = coalesce(written_at, now()) WHERE id = \(interchangeID)",
            logger: logger
        )
    }

    /// The 837P of one claim version: with the control numbers of the interchange that carried
    /// it, or, before it goes out, a preview numbered ``previewControlNumber``.
    public func x12(ofClaim claimID: UUID, settings: X12Settings) async throws -> String {
        let claim = try await claims.x12Claim(claimID)
        let rows = try await client.query(
            """
            SELECT i.control_number, i.group_control_number, i.created_at
            FROM interchange_claims ic JOIN interchanges i ON i.id = ic.interchange_id
            WHERE ic.claim_id = \(claimID)
            """,
            logger: logger
        )
        var envelope = settings.envelope(interchange: Self.previewControlNumber, group: Self.previewControlNumber, at: Date())
        for try await (control, group, created) in rows.decode((Int, Int, Date).self) {
            envelope = settings.envelope(interchange: control, group: group, at: created)
        }
        do {
            return try X12Writer.interchange(envelope, claims: [claim], newlineAfterSegments: true)
        } catch let error as X12Error {
            // The writer's refusal names the field to fix (and no PHI): the caller's 422, not a failure of ours.
            throw StoreError(.unsubmittable, "claim \(claimID) cannot be written as an 837P: \(error)")
        }
    }
}

extension X12Error {
    /// Whether the refusal is about one claim's content rather than the envelope or the batch
    /// (the sender's settings, the count of claims).
    var isAboutOneClaim: Bool {
        switch self {
        case .noClaims, .tooManyClaims, .controlNumberOutOfRange, .invalidEnvelope: false
        default: true
        }
    }
}
