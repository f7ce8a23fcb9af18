public import ClaimFlowCore
public import Foundation
import PostgresNIO

/// Applies the payer's acknowledgments (999, 277CA, TA1) to claims, each file in one
/// transaction. (835 remittances are posted by ``RemittanceStore``.)
///
/// - 999: a rejected transaction set rejects its claim (it never reached adjudication).
/// - 277CA: accepted claims (A1, A2) move to `accepted` with the payer's claim number; rejected
///   ones (A3, A4, A6, A7, A8), also after an earlier acceptance, go to the billing queue as a
///   new claim version, to be fixed and sent again. A rejection for a whole batch (2200B) or a
///   whole billing provider (2200C) rejects every claim of that batch (or of that provider
///   in it) that is still waiting for an answer.
/// - TA1 with TA104 `R`: the interchange's envelope was refused, so every claim in it goes
///   back to billing.
///
/// What names nothing ClaimFlow sent (an unknown patient control number or trace) is listed
/// as unmatched, and the rest of the file still applies.
public struct AnswerStore: QueueStore {
    public let queue: WorkQueue

    public init(queue: WorkQueue) { self.queue = queue }

    /// What happened to one claim.
    public struct Outcome: Sendable, Hashable, Codable {
        public init(claimID: UUID, encounterID: UUID, outcome: String, routedTo: String?, changed: Bool) {
            self.claimID = claimID
            self.encounterID = encounterID
            self.outcome = outcome
            self.routedTo = routedTo
            self.changed = changed
        }

        public let claimID: UUID
        public let encounterID: UUID
        public let outcome: String
        /// The queue the encounter went to (`coding`, `billing`), if any.
        public let routedTo: String?
        /// False when the file had already been applied to this claim (a replay).
        public let changed: Bool
    }

    /// Something in the file that names no claim ClaimFlow sent, or no claim waiting for an
    /// answer: the rest of the file applies without it.
    public struct Unmatched: Sendable, Hashable, Codable {
        public let segmentPosition: Int?
        public let segmentID: String
        public let reason: String
    }

    /// What one acknowledgment file did.
    public struct Applied: Sendable, Hashable {
        public var outcomes: [Outcome] = []
        public var unmatched: [Unmatched] = []
    }

    private struct ClaimRow {
        let id: UUID
        let encounterID: UUID
        let status: String
        let stage: Stage
        let codedBy: UUID?
    }

    /// Applies a parsed acknowledgment file (999, 277CA or TA1). `text` is the file, to name
    /// segment positions.
    public func apply(_ file: X12AnswerFile, text: String, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> Applied {
        try await database.transaction { connection in
            var applied = Applied()
            switch file.answer {
            case .acknowledgment999(let sets):
                // Each AK2's position, found in one pass: the sets listed by AK2 come in file order.
                var listedPositions = X12Positions.positions(of: ["AK2"], in: text)[...]
                for set in sets {
                    let position = set.coversWholeGroup ? nil : listedPositions.popFirst()
                    let claims = try await claimsForSet(set, practiceIDs: practiceIDs, on: connection)
                    if claims.isEmpty {
                        applied.unmatched.append(
                            Unmatched(
                                segmentPosition: position, segmentID: "AK2",
                                reason:
                                    "no claim sent by ClaimFlow is transaction set \(set.transactionSetControlNumber) of group \(set.groupControlNumber)"
                            ))
                    }
                    for claim in claims {
                        if set.accepted {
                            applied.outcomes.append(try await acknowledge(claim, codes: set.errorCodes, on: connection))
                        } else {
                            applied.outcomes.append(
                                try await reject(
                                    claim, kind: "999", codes: set.errorCodes, position: position, segment: "AK2", audit: audit,
                                    on: connection)
                            )
                        }
                    }
                }
            case .claimAcknowledgment(let acknowledgment):
                var listed: Set<UUID> = []
                for ack in acknowledgment.claims {
                    let position = ack.segmentPosition > 0 ? ack.segmentPosition : nil
                    guard let claim = try await claim(pcn: ack.patientControlNumber, practiceIDs: practiceIDs, on: connection) else {
                        applied.unmatched.append(
                            Unmatched(
                                segmentPosition: position, segmentID: "TRN",
                                reason: "no claim sent by ClaimFlow has patient control number \(ack.patientControlNumber)"))
                        continue
                    }
                    listed.insert(claim.id)
                    if ack.accepted {
                        applied.outcomes.append(try await accept(claim, ack: ack, position: position, audit: audit, on: connection))
                    } else {
                        applied.outcomes.append(
                            try await reject(
                                claim, kind: "277CA", codes: ack.statusCodes, position: position, segment: "TRN", audit: audit,
                                on: connection)
                        )
                    }
                }
                for rejection in acknowledgment.levelRejections {
                    let claims = try await claimsForBatch(
                        trace: rejection.batchTrace, providerID: rejection.providerID, practiceIDs: practiceIDs, on: connection)
                    let waiting = claims.filter { !listed.contains($0.id) && ($0.status == "submitted" || $0.status == "accepted") }
                    if waiting.isEmpty {
                        let scope = rejection.level == .batch ? "batch" : "provider \(rejection.providerID ?? "")"
                        applied.unmatched.append(
                            Unmatched(
                                segmentPosition: rejection.segmentPosition, segmentID: "STC",
                                reason:
                                    "the \(scope) rejection (trace \(rejection.batchTrace ?? "none")) names no claim waiting for an answer")
                        )
                    }
                    for claim in waiting {
                        applied.outcomes.append(
                            try await reject(
                                claim, kind: "277CA", codes: rejection.statusCodes, position: rejection.segmentPosition,
                                segment: "STC", audit: audit, on: connection))
                    }
                }
            case .interchangeAcknowledgment, .acknowledgment999, .claimAcknowledgment, .remittance:
                break
            }
            // TA1s: in a file of their own, or riding along in a 999's envelope.
            var interchangeAcks = file.interchangeAcks
            if case .interchangeAcknowledgment(let acks) = file.answer, interchangeAcks.isEmpty { interchangeAcks = acks }
            for ack in interchangeAcks where ack.isRejected {
                let claims = try await claimsForInterchange(ack.interchangeControlNumber, practiceIDs: practiceIDs, on: connection)
                let waiting = claims.filter { $0.status == "submitted" || $0.status == "accepted" || $0.status == "rejected" }
                if waiting.isEmpty {
                    applied.unmatched.append(
                        Unmatched(
                            segmentPosition: ack.segmentPosition, segmentID: "TA1",
                            reason: "no interchange ClaimFlow sent has control number \(ack.interchangeControlNumber)"))
                }
                for claim in waiting {
                    applied.outcomes.append(
                        try await reject(
                            claim, kind: "TA1", codes: ["TA1:R:\(ack.noteCode)"], position: ack.segmentPosition, segment: "TA1",
                            audit: audit, on: connection))
                }
            }
            return applied
        }
    }

    // MARK: Outcomes

    /// A claim already accepted, adjudicated or rejected keeps its status: the acceptance is
    /// old news (a replay, or a file read out of order).
    private func accept(
        _ claim: ClaimRow, ack: ClaimAck, position: Int?, audit: AuditContext, on connection: PostgresConnection
    ) async throws -> Outcome {
        guard claim.status == "submitted", claim.stage == .submitted else {
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
            claimID: claim.id, kind: "277CA", outcome: "accepted", detail: ["codes": ack.statusCodes.joined(separator: ",")],
            on: connection)
        return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "accepted", routedTo: nil, changed: true)
    }

    /// A 999 that accepts a claim's transaction set only goes on record, once: the same answer
    /// again (a replayed file) changes nothing.
    private func acknowledge(_ claim: ClaimRow, codes: [String], on connection: PostgresConnection) async throws -> Outcome {
        let detail = ["codes": codes.joined(separator: ",")]
        let recorded = try await hasAnswer(claim, kind: "999", outcome: "accepted", detail: detail, on: connection)
        if !recorded { try await record(claimID: claim.id, kind: "999", outcome: "accepted", detail: detail, on: connection) }
        return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "accepted", routedTo: nil, changed: !recorded)
    }

    /// A rejection never reached adjudication: billing fixes the claim and sends a new version.
    /// It applies to a claim waiting for an answer, also after an earlier acceptance (A1 then
    /// A7); a claim already rejected, or already paid or denied, is left as it is.
    private func reject(
        _ claim: ClaimRow, kind: String, codes: [String], position: Int?, segment: String, audit: AuditContext,
        on connection: PostgresConnection
    ) async throws -> Outcome {
        guard claim.status == "submitted" || claim.status == "accepted", claim.stage == .submitted || claim.stage == .accepted
        else {
            return Outcome(
                claimID: claim.id, encounterID: claim.encounterID, outcome: "rejected",
                routedTo: claim.status == "rejected" ? "billing" : nil, changed: false)
        }
        try await connection.query("UPDATE claims SET status = 'rejected' WHERE id = \(claim.id)", logger: logger)
        let encounters = EncounterStore(client: client, logger: logger, queue: queue)
        try await encounters.move(
            claim.encounterID, from: claim.stage, to: .rejected, action: "claim.rejected", audit: audit, on: connection)
        try await newClaimVersion(after: claim.id, frequency: "1", on: connection)
        try await queue.enqueue(
            encounterID: claim.encounterID, from: .rejected, to: .readyToBill, priority: 60, audit: audit,
            action: "claim.back_to_billing", detail: try jsonObject(["codes": codes.joined(separator: ",")]), on: connection
        )
        try await record(
            claimID: claim.id, kind: kind, outcome: "rejected", detail: ["codes": codes.joined(separator: ",")], on: connection)
        return Outcome(claimID: claim.id, encounterID: claim.encounterID, outcome: "rejected", routedTo: "billing", changed: true)
    }

    // MARK: Steps shared with remittance posting

    /// The next claim version of the same codes, ready for billing, with `frequency`: `7`
    /// replaces and `8` voids the previous version (quoting the payer's claim number), `1` is
    /// a new original. Its snapshot is the previous version's, with that frequency and REF*F8
    /// number: the payer's answer changes how the claim is sent, not what it says.
    func newClaimVersion(after claimID: UUID, frequency: String, on connection: PostgresConnection) async throws {
        let replaces = frequency != "1"
        try await connection.query(
            """
            INSERT INTO claims (encounter_id, version, coding_version, frequency_code, replaces_claim_id, payer_claim_number,
                                total_charge, coded_by, snapshot)
            SELECT c.encounter_id, c.version + 1, c.coding_version, \(frequency), n.replaces_claim_id, n.payer_claim_number,
                   c.total_charge, c.coded_by,
                   c.snapshot || jsonb_build_object('frequencyCode', \(frequency)::text,
                                                    'replacedPayerClaimNumber', n.payer_claim_number)
            FROM claims c,
                 LATERAL (SELECT CASE WHEN \(replaces) THEN c.id END AS replaces_claim_id,
                                 CASE WHEN \(replaces) THEN c.payer_claim_number END AS payer_claim_number) n
            WHERE c.id = \(claimID)
            """,
            logger: logger
        )
    }

    /// Rework: a new coding version of the encounter, starting from the last version's codes.
    func reworkCodingVersion(encounterID: UUID, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            WITH bumped AS (
                UPDATE encounters SET version = version + 1 WHERE id = \(encounterID) RETURNING id, version
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
    }

    func record(claimID: UUID, kind: String, outcome: String, detail: [String: String], on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO claim_answers (claim_id, kind, outcome, detail)
            VALUES (\(claimID), \(kind), \(outcome), \(try jsonObject(detail))::jsonb)
            """,
            logger: logger
        )
    }

    // MARK: Helpers

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

    private static var claimColumns: SQLFragment { "c.id, c.encounter_id, c.status, e.stage, e.coded_by" }

    private func claims(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [ClaimRow] {
        let rows = try await connection.query(query, logger: logger)
        var result: [ClaimRow] = []
        for try await (id, encounterID, status, stage, codedBy) in rows.decode((UUID, UUID, String, String, UUID?).self) {
            result.append(
                ClaimRow(id: id, encounterID: encounterID, status: status, stage: Stage(rawValue: stage) ?? .submitted, codedBy: codedBy))
        }
        return result
    }

    private func claim(pcn: String, practiceIDs: Set<UUID>, on connection: PostgresConnection) async throws -> ClaimRow? {
        try await claims(
            """
            SELECT \(fragment: Self.claimColumns)
            FROM interchange_claims ic
            JOIN claims c ON c.id = ic.claim_id
            JOIN encounters e ON e.id = c.encounter_id
            WHERE ic.patient_control_number = \(pcn) AND e.practice_id = ANY (\(Array(practiceIDs)))
            FOR UPDATE OF c, e
            """, on: connection
        ).first
    }

    private func claimsForSet(
        _ set: TransactionSetAck, practiceIDs: Set<UUID>, on connection: PostgresConnection
    ) async throws -> [ClaimRow] {
        try await sentClaims(
            where: """
                i.group_control_number = \(set.groupControlNumber)
                AND (\(set.coversWholeGroup) OR ic.transaction_set_number = \(set.transactionSetControlNumber))
                """,
            orderBy: "ic.transaction_set_number", practiceIDs: practiceIDs, on: connection)
    }

    /// The claims a 277CA batch trace names: the BHT03 ClaimFlow wrote (ISA13 with nine digits,
    /// then ST02) names one transaction set; ISA13 or GS06 alone names the whole interchange.
    /// `providerID` keeps the claims of that billing provider (NPI) only.
    private func claimsForBatch(
        trace: String?, providerID: String?, practiceIDs: Set<UUID>, on connection: PostgresConnection
    ) async throws -> [ClaimRow] {
        guard let trace, !trace.isEmpty else { return [] }
        let number = trace.count <= 9 && trace.allSatisfy(\.isASCIIDigit) ? Int64(trace) : nil
        return try await sentClaims(
            where: """
                (lpad(i.control_number::text, 9, '0') || ic.transaction_set_number = \(trace)
                 OR i.control_number = \(number) OR i.group_control_number = \(number))
                AND (\(providerID)::text IS NULL OR p.npi = \(providerID))
                """,
            orderBy: "i.id, ic.transaction_set_number", practiceIDs: practiceIDs, on: connection)
    }

    private func claimsForInterchange(
        _ controlNumber: Int, practiceIDs: Set<UUID>, on connection: PostgresConnection
    ) async throws -> [ClaimRow] {
        try await sentClaims(
            where: "i.control_number = \(controlNumber)", orderBy: "ic.transaction_set_number", practiceIDs: practiceIDs,
            on: connection)
    }

    /// The claims of the caller's practices that ClaimFlow sent in interchanges where
    /// `condition` holds (over `i` interchanges, `ic` their claims, `p` the practice), locked
    /// for the answer being applied.
    private func sentClaims(
        where condition: SQLFragment, orderBy order: SQLFragment, practiceIDs: Set<UUID>, on connection: PostgresConnection
    ) async throws -> [ClaimRow] {
        try await claims(
            """
            SELECT \(fragment: Self.claimColumns)
            FROM interchanges i
            JOIN interchange_claims ic ON ic.interchange_id = i.id
            JOIN claims c ON c.id = ic.claim_id
            JOIN encounters e ON e.id = c.encounter_id
            JOIN practices p ON p.id = e.practice_id
            WHERE (\(fragment: condition)) AND e.practice_id = ANY (\(Array(practiceIDs)))
            ORDER BY \(fragment: order)
            FOR UPDATE OF c, e
            """, on: connection)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
