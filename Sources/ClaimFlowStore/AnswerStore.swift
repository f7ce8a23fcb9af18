public import ClaimFlowCore
public import Foundation
import PostgresNIO

/// Applies the payer's answers (999, 277CA, 835) to claims, each file in one transaction: a
/// file with any claim that cannot be applied changes nothing.
///
/// - 999: a rejected transaction set rejects its claim (it never reached adjudication).
/// - 277CA: accepted claims move to `accepted` with the payer's claim number; rejected ones go
///   to the billing queue as a new claim version, to be fixed and sent again.
/// - 835: paid claims move to `paid`; denied ones move to `denied` and then, when a reason code
///   is a coding reason (the `coding_denial_reasons` table), to the coding queue as a new coding
///   version whose claim will replace this one (frequency 7), otherwise to the billing queue as
///   a replacement claim version.
public struct AnswerStore: QueueStore {
    public let queue: WorkQueue

    public init(queue: WorkQueue) { self.queue = queue }

    /// What happened to one claim.
    public struct Outcome: Sendable, Hashable, Codable {
        public let claimID: UUID
        public let encounterID: UUID
        public let outcome: String
        /// The queue the encounter went to (`coding`, `billing`), if any.
        public let routedTo: String?
        /// False when the file had already been applied to this claim (a replay).
        public let changed: Bool
    }

    /// A file whose claims cannot all be applied; nothing from it was.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public let segmentPosition: Int?
        public let segmentID: String
        public let reason: String

        public var description: String {
            if let segmentPosition { return "segment \(segmentPosition) (\(segmentID)): \(reason)" }
            return "\(segmentID): \(reason)"
        }
    }

    private struct ClaimRow {
        let id: UUID
        let encounterID: UUID
        let status: String
        let stage: Stage
        let codedBy: UUID?
    }

    /// Applies a parsed answer. `text` is the file, to name segment positions in refusals.
    public func apply(_ answer: X12Answer, text: String, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> [Outcome] {
        try await database.transaction { connection in
            var outcomes: [Outcome] = []
            switch answer {
            case .acknowledgment999(let sets):
                for set in sets {
                    let position = X12Positions.position(of: ["AK2", "837", set.transactionSetControlNumber], in: text)
                    let claims = try await claimsForSet(set, practiceIDs: practiceIDs, position: position, on: connection)
                    for claim in claims {
                        if set.accepted {
                            outcomes.append(try await acknowledge(claim, codes: set.errorCodes, on: connection))
                        } else {
                            outcomes.append(
                                try await reject(
                                    claim, kind: "999", codes: set.errorCodes, position: position, segment: "AK2", audit: audit,
                                    on: connection)
                            )
                        }
                    }
                }
            case .claimAcknowledgment(let acknowledgment):
                for ack in acknowledgment.claims {
                    let position = X12Positions.position(of: ["TRN", "2", ack.patientControlNumber], in: text)
                    let claim = try await claim(
                        pcn: ack.patientControlNumber, practiceIDs: practiceIDs, position: position, segment: "TRN", on: connection)
                    if ack.accepted {
                        outcomes.append(try await accept(claim, ack: ack, position: position, audit: audit, on: connection))
                    } else {
                        outcomes.append(
                            try await reject(
                                claim, kind: "277CA", codes: ack.statusCodes, position: position, segment: "TRN", audit: audit,
                                on: connection)
                        )
                    }
                }
            case .interchangeAcknowledgment:
                break
            case .remittance(let payments):
                for remitted in payments.flatMap(\.claims) {
                    let position = X12Positions.position(of: ["CLP", remitted.patientControlNumber], in: text)
                    let claim = try await claim(
                        pcn: remitted.patientControlNumber, practiceIDs: practiceIDs, position: position, segment: "CLP", on: connection)
                    if remitted.isReversal {
                        throw Refusal(segmentPosition: position, segmentID: "CLP", reason: "claim reversals (CLP02 22) are posted by hand")
                    }
                    outcomes.append(try await remit(claim, remitted, position: position, audit: audit, on: connection))
                }
            }
            return outcomes
        }
    }

    // MARK: Outcomes

    private func accept(
        _ claim: ClaimRow, ack: ClaimAck, position: Int?, audit: AuditContext, on connection: PostgresConnection
    ) async throws -> Outcome {
        if claim.status != "submitted" {
            guard claim.status == "accepted" || claim.status == "paid" || claim.status == "denied" else {
                throw Refusal(
                    segmentPosition: position, segmentID: "TRN", reason: "claim \(claim.id) is \(claim.status); it cannot be accepted")
            }
            return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "accepted", routedTo: nil, changed: false)
        }
        try await connection.query(
            "UPDATE claims SET status = 'accepted', payer_claim_number = coalesce(\(ack.payerClaimControlNumber), payer_claim_number) WHERE id = \(claim.id)",
            logger: logger
        )
        try await EncounterStore(client: client, logger: logger, queue: queue).move(
            claim.encounterID, from: .submitted, to: .accepted, action: "claim.accepted", audit: audit, on: connection
        )
        try await record(
            claim, kind: "277CA", outcome: "accepted", detail: ["codes": ack.statusCodes.joined(separator: ",")], on: connection)
        return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "accepted", routedTo: nil, changed: true)
    }

    /// A 999 that accepts a claim's transaction set only goes on record, once: the same answer
    /// again (a replayed file) changes nothing.
    private func acknowledge(_ claim: ClaimRow, codes: [String], on connection: PostgresConnection) async throws -> Outcome {
        let detail = ["codes": codes.joined(separator: ",")]
        let recorded = try await hasAnswer(claim, kind: "999", outcome: "accepted", detail: detail, on: connection)
        if !recorded { try await record(claim, kind: "999", outcome: "accepted", detail: detail, on: connection) }
        return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "accepted", routedTo: nil, changed: !recorded)
    }

    /// A rejection never reached adjudication: billing fixes the claim and sends a new version.
    private func reject(
        _ claim: ClaimRow, kind: String, codes: [String], position: Int?, segment: String, audit: AuditContext,
        on connection: PostgresConnection
    ) async throws -> Outcome {
        if claim.status == "rejected" {
            return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "rejected", routedTo: "billing", changed: false)
        }
        guard claim.status == "submitted", claim.stage == .submitted else {
            throw Refusal(
                segmentPosition: position, segmentID: segment, reason: "claim \(claim.id) is \(claim.status); it cannot be rejected")
        }
        try await connection.query("UPDATE claims SET status = 'rejected' WHERE id = \(claim.id)", logger: logger)
        let encounters = EncounterStore(client: client, logger: logger, queue: queue)
        try await encounters.move(
            claim.encounterID, from: .submitted, to: .rejected, action: "claim.rejected", audit: audit, on: connection)
        try await newClaimVersion(after: claim.id, replaces: false, on: connection)
        try await queue.enqueue(
            encounterID: claim.encounterID, from: .rejected, to: .readyToBill, priority: 60, audit: audit,
            action: "claim.back_to_billing", detail: try jsonObject(["codes": codes.joined(separator: ",")]), on: connection
        )
        try await record(claim, kind: kind, outcome: "rejected", detail: ["codes": codes.joined(separator: ",")], on: connection)
        return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "rejected", routedTo: "billing", changed: true)
    }

    private func remit(
        _ claim: ClaimRow, _ remitted: RemittanceClaim, position: Int?, audit: AuditContext, on connection: PostgresConnection
    ) async throws -> Outcome {
        let outcome = remitted.isDenied ? "denied" : "paid"
        if claim.status == outcome {
            return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: outcome, routedTo: nil, changed: false)
        }
        guard claim.status == "submitted" || claim.status == "accepted" else {
            throw Refusal(
                segmentPosition: position, segmentID: "CLP", reason: "claim \(claim.id) is \(claim.status); the remittance cannot apply")
        }
        let from: Stage = claim.status == "accepted" ? .accepted : .submitted
        let encounters = EncounterStore(client: client, logger: logger, queue: queue)
        let reasons = remitted.reasonCodes
        let detail = [
            "paid": "\(remitted.paid)", "charge": "\(remitted.charge)", "carc": reasons.joined(separator: ","),
            "rarc": remitted.remarkCodes.joined(separator: ","), "status_code": remitted.statusCode,
        ]
        try await connection.query(
            """
            UPDATE claims SET status = \(outcome), paid_amount = \(remitted.paid),
                              payer_claim_number = coalesce(\(remitted.payerClaimControlNumber), payer_claim_number)
            WHERE id = \(claim.id)
            """,
            logger: logger
        )
        try await record(claim, kind: "835", outcome: outcome, detail: detail, on: connection)
        guard remitted.isDenied else {
            try await encounters.move(claim.encounterID, from: from, to: .paid, action: "claim.paid", audit: audit, on: connection)
            return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "paid", routedTo: nil, changed: true)
        }
        try await encounters.move(claim.encounterID, from: from, to: .denied, action: "claim.denied", audit: audit, on: connection)
        let codingReasons = try await codingDenialReasons(among: reasons, on: connection)
        if !codingReasons.isEmpty {
            // Rework: a new coding version, starting from the denied version's codes.
            try await connection.query(
                """
                WITH bumped AS (
                    UPDATE encounters SET version = version + 1 WHERE id = \(claim.encounterID) RETURNING id, version
                ), diagnoses_copied AS (
                    INSERT INTO diagnoses (encounter_id, version, position, code)
                    SELECT d.encounter_id, bumped.version, d.position, d.code
                    FROM diagnoses d, bumped WHERE d.encounter_id = bumped.id AND d.version = bumped.version - 1
                )
                INSERT INTO service_lines (encounter_id, version, line_number, code, modifiers, units, charge, pointers)
                SELECT s.encounter_id, bumped.version, s.line_number, s.code, s.modifiers, s.units, s.charge, s.pointers
                FROM service_lines s, bumped WHERE s.encounter_id = bumped.id AND s.version = bumped.version - 1
                """,
                logger: logger
            )
            try await queue.enqueue(
                encounterID: claim.encounterID, from: .denied, to: .rework, priority: 70, offeredTo: claim.codedBy,
                offerFor: .seconds(3600), audit: audit, action: "claim.back_to_coding",
                detail: try jsonObject(["carc": codingReasons.joined(separator: ","), "claim_id": claim.id.uuidString]), on: connection
            )
            return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "denied", routedTo: "coding", changed: true)
        }
        try await newClaimVersion(after: claim.id, replaces: true, on: connection)
        try await queue.enqueue(
            encounterID: claim.encounterID, from: .denied, to: .readyToBill, priority: 60, audit: audit,
            action: "claim.back_to_billing",
            detail: try jsonObject(["carc": reasons.joined(separator: ","), "claim_id": claim.id.uuidString]), on: connection
        )
        return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "denied", routedTo: "billing", changed: true)
    }

    // MARK: Helpers

    /// The next claim version of the same codes, ready for billing: a replacement (frequency 7,
    /// carrying the payer's claim number) when the payer adjudicated the previous one, else an
    /// original (1). Its snapshot is the previous version's, with that frequency and REF*F8
    /// number: the payer's answer changes how the claim is sent, not what it says.
    private func newClaimVersion(after claimID: UUID, replaces: Bool, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO claims (encounter_id, version, coding_version, frequency_code, replaces_claim_id, payer_claim_number,
                                total_charge, coded_by, snapshot)
            SELECT c.encounter_id, c.version + 1, c.coding_version, n.frequency_code, n.replaces_claim_id, n.payer_claim_number,
                   c.total_charge, c.coded_by,
                   c.snapshot || jsonb_build_object('frequencyCode', n.frequency_code,
                                                    'replacedPayerClaimNumber', n.payer_claim_number)
            FROM claims c,
                 LATERAL (SELECT CASE WHEN \(replaces) THEN '7' ELSE '1' END AS frequency_code,
                                 CASE WHEN \(replaces) THEN c.id END AS replaces_claim_id,
                                 CASE WHEN \(replaces) THEN c.payer_claim_number END AS payer_claim_number) n
            WHERE c.id = \(claimID)
            """,
            logger: logger
        )
    }

    private func codingDenialReasons(among codes: [String], on connection: PostgresConnection) async throws -> [String] {
        guard !codes.isEmpty else { return [] }
        let rows = try await connection.query(
            "SELECT carc FROM coding_denial_reasons WHERE carc = ANY (\(codes)) ORDER BY carc",
            logger: logger
        )
        var result: [String] = []
        for try await code in rows.decode(String.self) { result.append(code) }
        return result
    }

    private func record(
        _ claim: ClaimRow, kind: String, outcome: String, detail: [String: String], on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO claim_answers (claim_id, kind, outcome, detail)
            VALUES (\(claim.id), \(kind), \(outcome), \(try jsonObject(detail))::jsonb)
            """,
            logger: logger
        )
    }

    /// Whether this claim already has this answer on record, codes and all.
    private func hasAnswer(
        _ claim: ClaimRow, kind: String, outcome: String, detail: [String: String], on connection: PostgresConnection
    ) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT EXISTS (
                SELECT 1 FROM claim_answers
                WHERE claim_id = \(claim.id) AND kind = \(kind) AND outcome = \(outcome) AND detail = \(try jsonObject(detail))::jsonb
            )
            """,
            logger: logger
        )
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    private func claim(
        pcn: String, practiceIDs: Set<UUID>, position: Int?, segment: String, on connection: PostgresConnection
    ) async throws -> ClaimRow {
        let rows = try await connection.query(
            """
            SELECT c.id, c.encounter_id, c.status, e.stage, e.coded_by
            FROM interchange_claims ic
            JOIN claims c ON c.id = ic.claim_id
            JOIN encounters e ON e.id = c.encounter_id
            WHERE ic.patient_control_number = \(pcn) AND e.practice_id = ANY (\(Array(practiceIDs)))
            FOR UPDATE OF c, e
            """,
            logger: logger
        )
        for try await (id, encounterID, status, stage, codedBy) in rows.decode((UUID, UUID, String, String, UUID?).self) {
            return ClaimRow(id: id, encounterID: encounterID, status: status, stage: Stage(rawValue: stage) ?? .submitted, codedBy: codedBy)
        }
        throw Refusal(segmentPosition: position, segmentID: segment, reason: "no claim sent by ClaimFlow has patient control number \(pcn)")
    }

    private func claimsForSet(
        _ set: TransactionSetAck, practiceIDs: Set<UUID>, position: Int?, on connection: PostgresConnection
    ) async throws -> [ClaimRow] {
        let rows = try await connection.query(
            """
            SELECT c.id, c.encounter_id, c.status, e.stage, e.coded_by
            FROM interchanges i
            JOIN interchange_claims ic ON ic.interchange_id = i.id
            JOIN claims c ON c.id = ic.claim_id
            JOIN encounters e ON e.id = c.encounter_id
            WHERE i.group_control_number = \(set.groupControlNumber)
              AND (\(set.coversWholeGroup) OR ic.transaction_set_number = \(set.transactionSetControlNumber))
              AND e.practice_id = ANY (\(Array(practiceIDs)))
            FOR UPDATE OF c, e
            """,
            logger: logger
        )
        var result: [ClaimRow] = []
        for try await (id, encounterID, status, stage, codedBy) in rows.decode((UUID, UUID, String, String, UUID?).self) {
            result.append(
                ClaimRow(id: id, encounterID: encounterID, status: status, stage: Stage(rawValue: stage) ?? .submitted, codedBy: codedBy))
        }
        guard !result.isEmpty else {
            throw Refusal(
                segmentPosition: position, segmentID: "AK2",
                reason:
                    "no claim sent by ClaimFlow is transaction set \(set.transactionSetControlNumber) of group \(set.groupControlNumber)"
            )
        }
        return result
    }
}
