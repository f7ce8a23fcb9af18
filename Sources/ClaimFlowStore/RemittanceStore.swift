public import ClaimFlowCore
import Crypto
public import Foundation
import PostgresNIO

/// Posts 835 remittances: every claim payment in its own transaction, so one claim that
/// cannot be posted (unknown, out of balance, a reversal of nothing) goes to the exceptions
/// list and the rest of the file still posts.
///
/// Each payment, line and adjustment is kept as the payer sent it (sql/0008), keyed on the
/// file's digest, TRN02 and payer and on the CLP's place in the file: the same file again
/// posts nothing twice, and a file posted halfway before a crash finishes on its next upload.
///
/// Denials, line denials on paid claims and patient responsibility are routed by the
/// `denial_rules` table (``DenialRouting``): a follow-up on the rule's queue with its action,
/// and for a resend (corrected claim, new original, void) the encounter goes back to coding
/// (rework) or to billing with the next claim version.
public struct RemittanceStore: QueueStore {
    public let queue: WorkQueue

    public init(queue: WorkQueue) { self.queue = queue }

    /// What one upload did.
    public struct Posting: Sendable, Hashable, Encodable {
        public var claims: [ClaimPosting] = []
        public var providerAdjustments: [PostedProviderAdjustment] = []
        public var exceptions: [PostingException] = []
    }

    /// What happened to one CLP.
    public struct ClaimPosting: Sendable, Hashable, Encodable {
        public let patientControlNumber: String
        public let claimID: UUID?
        public let encounterID: UUID?
        /// CLP02.
        public let statusCode: String
        /// `paid`, `denied`, `reversed`, `predetermination`, `forwarded`, or `exception` when it
        /// could not be posted (see `exceptions`).
        public let outcome: String
        @MoneyAmount public var paid: Decimal
        /// The queue the encounter went back to (`coding`, `billing`), if any.
        public let routedTo: String?
        public let followups: [Followup]
        /// False when an earlier upload of the same file already posted it.
        public let changed: Bool
    }

    /// A denial routed by a rule.
    public struct Followup: Sendable, Hashable, Codable {
        /// The SVC's place in its CLP, for a line denial; nil for the whole claim.
        public let lineIndex: Int?
        public let queue: DenialQueue
        public let action: DenialAction
        public let groupCode: String
        public let reasonCode: String
        public let ruleID: Int?
    }

    /// A PLB adjustment as posted.
    public struct PostedProviderAdjustment: Sendable, Hashable, Encodable {
        public let providerID: String
        public let reasonCode: String
        public let reference: String?
        @MoneyAmount public var amount: Decimal
        public let changed: Bool
    }

    /// Something that could not be posted, in the billers' exceptions list.
    public struct PostingException: Sendable, Hashable, Encodable {
        public let id: Int64
        public let kind: String
        public let patientControlNumber: String?
        public let claimID: UUID?
        public let reason: String
        public let segmentPosition: Int?
    }

    // MARK: Posting

    /// Posts every payment of an uploaded 835; `fileText` is the file as uploaded, whose
    /// SHA-256 keys the upload.
    public func post(
        _ payments: [RemittancePayment], fileText: String, practiceIDs: Set<UUID>, audit: AuditContext
    ) async throws -> Posting {
        let fileDigest = SHA256.hash(data: Data(fileText.utf8)).map { String(format: "%02x", $0) }.joined()
        let rules = try await DenialRuleStore(database: database).all()
        var posting = Posting()
        for payment in payments {
            let remittanceID = try await database.transaction { connection in
                try await record(payment, fileDigest: fileDigest, practiceIDs: practiceIDs, audit: audit, into: &posting, on: connection)
            }
            // A reversal and the corrected claim after it post together, or not at all.
            for group in Self.pairs(payment.claims) {
                let results = try await database.transaction { connection in
                    var results: [(ClaimPosting, PostingException?)] = []
                    for claim in group {
                        results.append(
                            try await post(
                                claim, remittanceID: remittanceID, payerCode: payment.payerID, rules: rules,
                                practiceIDs: practiceIDs, audit: audit, on: connection))
                    }
                    return results
                }
                for (claim, exception) in results {
                    posting.claims.append(claim)
                    if let exception { posting.exceptions.append(exception) }
                }
            }
        }
        return posting
    }

    /// Groups each reversal (CLP02 22) with the CLP right after it when that one is for the same
    /// claim: the payer's correction.
    static func pairs(_ claims: [RemittanceClaim]) -> [[RemittanceClaim]] {
        var groups: [[RemittanceClaim]] = []
        for claim in claims {
            if let last = groups.last, last.count == 1, last[0].isReversal, !claim.isReversal,
                last[0].patientControlNumber == claim.patientControlNumber
            {
                groups[groups.count - 1].append(claim)
            } else {
                groups.append([claim])
            }
        }
        return groups
    }

    /// The payment's row, its PLB adjustments and, when it does not balance, its exception.
    private func record(
        _ payment: RemittancePayment, fileDigest: String, practiceIDs: Set<UUID>, audit: AuditContext,
        into posting: inout Posting, on connection: PostgresConnection
    ) async throws -> Int64 {
        let payerCode = payment.payerID ?? ""
        let finding = payment.balanceFinding
        var remittanceID: Int64?
        let inserted = try await connection.query(
            """
            INSERT INTO remittances (file_digest, set_position, payer_code, check_number, total_paid, credit_debit,
                                     payment_method, payment_date, balance_finding, received_by)
            VALUES (\(fileDigest), \(payment.segmentPosition), \(payerCode), \(payment.checkNumber), \(payment.totalPaid),
                    \(payment.creditDebit), \(String(payment.paymentMethod.prefix(3))),
                    \(payment.paymentDate.flatMap { $0.count == 8 && $0.allSatisfy(\.isNumber) ? $0 : nil }),
                    \(finding), \(audit.actorID))
            ON CONFLICT (file_digest, payer_code, check_number, set_position) DO NOTHING
            RETURNING id
            """,
            logger: logger
        )
        for try await id in inserted.decode(Int64.self) { remittanceID = id }
        if remittanceID == nil {
            let existing = try await connection.query(
                """
                SELECT id FROM remittances
                WHERE file_digest = \(fileDigest) AND payer_code = \(payerCode) AND check_number = \(payment.checkNumber)
                  AND set_position = \(payment.segmentPosition)
                """,
                logger: logger
            )
            for try await id in existing.decode(Int64.self) { remittanceID = id }
        }
        guard let remittanceID else { throw StoreError(.conflict, "the remittance could not be recorded") }

        var pairIndex: [Int: Int] = [:]
        for adjustment in payment.providerAdjustments {
            pairIndex[adjustment.segmentPosition, default: 0] += 1
            let rows = try await connection.query(
                """
                INSERT INTO provider_adjustments (remittance_id, segment_position, pair_index, provider_id, fiscal_period_date,
                                                  reason_code, reference, amount)
                VALUES (\(remittanceID), \(adjustment.segmentPosition), \(pairIndex[adjustment.segmentPosition]!),
                        \(String(adjustment.providerID.prefix(50))), \(String(adjustment.fiscalPeriodDate.prefix(8))),
                        \(String(adjustment.reasonCode.prefix(2))), \(adjustment.reference.map { String($0.prefix(50)) }),
                        \(adjustment.amount))
                ON CONFLICT DO NOTHING
                RETURNING id
                """,
                logger: logger
            )
            var changed = false
            for try await _ in rows.decode(Int64.self) { changed = true }
            posting.providerAdjustments.append(
                PostedProviderAdjustment(
                    providerID: adjustment.providerID, reasonCode: adjustment.reasonCode, reference: adjustment.reference,
                    amount: adjustment.amount, changed: changed))
        }
        if let finding {
            posting.exceptions.append(
                try await exception(
                    remittanceID: remittanceID, position: nil, kind: "payment_out_of_balance", claimID: nil,
                    practiceIDs: practiceIDs, pcn: nil, paid: payment.totalPaid,
                    reason: "the payment does not balance: \(finding)", on: connection
                ).exception)
        }
        return remittanceID
    }

    private struct ClaimRow {
        let id: UUID
        let encounterID: UUID
        let status: String
        let stage: Stage
        let codedBy: UUID?
        let practiceID: UUID
        let acceptsCorrections: Bool
        /// The snapshot's service lines: procedure code and modifiers, by line number.
        let lines: [(code: String, modifiers: [String])]
    }

    private func post(
        _ remitted: RemittanceClaim, remittanceID: Int64, payerCode: String?, rules: [DenialRule], practiceIDs: Set<UUID>,
        audit: AuditContext, on connection: PostgresConnection
    ) async throws -> (ClaimPosting, PostingException?) {
        let pcn = remitted.patientControlNumber
        func result(
            _ outcome: String, claim: ClaimRow?, routedTo: String? = nil, followups: [Followup] = [], changed: Bool = true
        ) -> ClaimPosting {
            ClaimPosting(
                patientControlNumber: pcn, claimID: claim?.id, encounterID: claim?.encounterID, statusCode: remitted.statusCode,
                outcome: outcome, paid: remitted.paid, routedTo: routedTo, followups: followups, changed: changed)
        }
        func refuse(_ kind: String, _ reason: String, claim: ClaimRow?) async throws -> (ClaimPosting, PostingException?) {
            let exception = try await exception(
                remittanceID: remittanceID, position: remitted.segmentPosition, kind: kind, claimID: claim?.id,
                practiceIDs: claim.map { [$0.practiceID] } ?? practiceIDs, pcn: pcn, paid: remitted.paid, reason: reason,
                on: connection)
            return (result("exception", claim: claim, changed: exception.isNew), exception.exception)
        }

        if let posted = try await postedAlready(remittanceID: remittanceID, position: remitted.segmentPosition, on: connection) {
            return (
                ClaimPosting(
                    patientControlNumber: pcn, claimID: posted.claimID, encounterID: posted.encounterID,
                    statusCode: remitted.statusCode, outcome: posted.outcome, paid: remitted.paid, routedTo: nil,
                    followups: posted.followups, changed: false), nil
            )
        }
        guard let claim = try await claim(pcn: pcn, practiceIDs: practiceIDs, on: connection) else {
            return try await refuse("unknown_claim", "no claim sent by ClaimFlow has patient control number \(pcn)", claim: nil)
        }
        let findings = remitted.balanceFindings
        guard findings.isEmpty else {
            return try await refuse(
                "out_of_balance", "the claim payment does not balance: " + findings.joined(separator: "; "), claim: claim)
        }
        guard ["submitted", "accepted", "paid", "denied"].contains(claim.status) else {
            return try await refuse(
                "claim_not_payable", "claim \(claim.id) is \(claim.status); a remittance cannot apply to it", claim: claim)
        }

        var reversed: Int64?
        if remitted.isReversal {
            reversed = try await paymentToReverse(claim: claim, remitted, on: connection)
            guard reversed != nil else {
                return try await refuse(
                    "reversal_without_payment",
                    "the reversal (CLP02 22) takes back \(MoneyAmount.text(-remitted.paid)) but claim \(claim.id) has no posted payment of that amount",
                    claim: claim)
            }
        }
        let paymentID = try await insertPayment(remitted, claim: claim, remittanceID: remittanceID, reverses: reversed, on: connection)
        // Posted now, so an exception an earlier upload of this file left for it is settled.
        try await connection.query(
            """
            UPDATE remittance_exceptions SET resolved_at = now(), resolution = 'posted by a later upload of the file'
            WHERE remittance_id = \(remittanceID) AND clp_position = \(remitted.segmentPosition) AND resolved_at IS NULL
            """,
            logger: logger
        )
        try await connection.query(
            """
            UPDATE claims SET paid_amount = (SELECT sum(paid) FROM claim_payments WHERE claim_id = \(claim.id)),
                              payer_claim_number = coalesce(\(remitted.payerClaimControlNumber), payer_claim_number)
            WHERE id = \(claim.id)
            """,
            logger: logger
        )
        let answers = AnswerStore(queue: queue)
        let encounters = EncounterStore(client: client, logger: logger, queue: queue)
        let detail = [
            "paid": MoneyAmount.text(remitted.paid), "charge": MoneyAmount.text(remitted.charge), "status_code": remitted.statusCode,
            "carc": remitted.reasonCodes.joined(separator: ","), "rarc": remitted.allRemarkCodes.joined(separator: ","),
        ]

        switch remitted.statusCode {
        case "22":
            // The payment taken back no longer routes anything; the correction after it does.
            try await connection.query(
                "UPDATE denial_followups SET closed_at = now() WHERE payment_id = \(reversed!) AND closed_at IS NULL",
                logger: logger)
            try await answers.record(claimID: claim.id, kind: "835", outcome: "reversed", detail: detail, on: connection)
            return (result("reversed", claim: claim), nil)
        case "25":
            try await answers.record(claimID: claim.id, kind: "835", outcome: "predetermination", detail: detail, on: connection)
            return (result("predetermination", claim: claim), nil)
        case "23":
            // Not this payer's claim: billing checks the patient's coverage and bills the right one.
            let followup = Followup(
                lineIndex: nil, queue: .billing, action: .eligibilityReview, groupCode: "OA", reasonCode: "23", ruleID: nil)
            try await insertFollowups([followup], paymentID: paymentID, claim: claim, remarks: remitted.remarkCodes, on: connection)
            try await answers.record(claimID: claim.id, kind: "835", outcome: "forwarded", detail: detail, on: connection)
            return (result("forwarded", claim: claim, followups: [followup]), nil)
        default:
            break
        }

        let denied = remitted.isDenied
        let outcome = denied ? "denied" : "paid"
        let from: Stage? = [.submitted, .accepted].contains(claim.stage) ? claim.stage : nil
        if claim.status != "paid" || !denied {
            try await connection.query("UPDATE claims SET status = \(outcome) WHERE id = \(claim.id)", logger: logger)
        }
        var stage = claim.stage
        if let from {
            stage = denied ? .denied : .paid
            try await encounters.move(
                claim.encounterID, from: from, to: stage, action: denied ? "claim.denied" : "claim.paid", audit: audit, on: connection)
        }
        try await answers.record(claimID: claim.id, kind: "835", outcome: outcome, detail: detail, on: connection)

        let followups = Self.followups(for: remitted, payerCode: payerCode, rules: rules)
        try await insertFollowups(followups, paymentID: paymentID, claim: claim, remarks: remitted.allRemarkCodes, on: connection)
        let routedTo = try await resend(
            claim, stage: stage, followups: followups, remarkCodes: remitted.allRemarkCodes, audit: audit, on: connection)
        return (result(outcome, claim: claim, routedTo: routedTo, followups: followups), nil)
    }

    /// The routed follow-ups of a posted claim payment: the whole claim when it is denied;
    /// otherwise each line paid nothing (a line denial), then the patient's share.
    static func followups(for remitted: RemittanceClaim, payerCode: String?, rules: [DenialRule]) -> [Followup] {
        func route(_ adjustments: [RemittanceAdjustment], remarks: [String], line: Int?) -> Followup? {
            let reasons = adjustments.filter { $0.amount != 0 }.map { DenialReason(groupCode: $0.groupCode, reasonCode: $0.reasonCode) }
            guard !reasons.isEmpty else { return nil }
            guard let route = DenialRouting.route(reasons: reasons, remarkCodes: remarks, payerID: payerCode, rules: rules) else {
                return nil
            }
            return Followup(
                lineIndex: line, queue: route.rule.queue, action: route.rule.action, groupCode: route.reason.groupCode,
                reasonCode: route.reason.reasonCode, ruleID: route.rule.id)
        }
        if remitted.isDenied {
            let followup =
                route(remitted.allAdjustments, remarks: remitted.allRemarkCodes, line: nil)
                ?? Followup(lineIndex: nil, queue: .billing, action: .appeal, groupCode: "CO", reasonCode: "", ruleID: nil)
            return [followup]
        }
        var result: [Followup] = []
        for (index, line) in remitted.lines.enumerated() where line.paid == 0 && line.charge > 0 {
            let nonPatient = line.adjustments.filter { $0.groupCode != "PR" }
            if let followup = route(nonPatient, remarks: remitted.remarkCodes + line.remarkCodes, line: index + 1) {
                result.append(followup)
            }
        }
        let patientShare = remitted.allAdjustments.filter { $0.groupCode == "PR" }
        if let followup = route(patientShare, remarks: remitted.allRemarkCodes, line: nil), followup.queue == .patient {
            result.append(followup)
        }
        return result
    }

    private func insertFollowups(
        _ followups: [Followup], paymentID: Int64, claim: ClaimRow, remarks: [String], on connection: PostgresConnection
    ) async throws {
        for followup in followups {
            try await connection.query(
                """
                INSERT INTO denial_followups (payment_id, line_index, claim_id, encounter_id, rule_id, queue, action,
                                              group_code, carc, remark_codes, amount)
                SELECT \(paymentID), \(followup.lineIndex), \(claim.id), \(claim.encounterID), \(followup.ruleID),
                       \(followup.queue.rawValue), \(followup.action.rawValue), \(followup.groupCode), \(followup.reasonCode),
                       \(remarks),
                       coalesce((SELECT sum(amount) FROM payment_adjustments
                                 WHERE payment_id = \(paymentID) AND group_code = \(followup.groupCode)
                                   AND (\(followup.lineIndex)::integer IS NULL OR line_index = \(followup.lineIndex))), 0)
                ON CONFLICT DO NOTHING
                """,
                logger: logger
            )
        }
    }

    /// Puts the encounter back in a queue when a follow-up resends the claim: coding (a new
    /// coding version, whose claim replaces this one) before billing (the next claim version,
    /// with the frequency the action calls for). Returns the queue, or nil.
    private func resend(
        _ claim: ClaimRow, stage: Stage, followups: [Followup], remarkCodes: [String], audit: AuditContext,
        on connection: PostgresConnection
    ) async throws -> String? {
        guard stage == .denied || stage == .paid else { return nil }
        let answers = AnswerStore(queue: queue)
        let reasons = followups.map { "\($0.groupCode)-\($0.reasonCode)" }.joined(separator: ",")
        if followups.contains(where: { $0.queue == .coding }) {
            try await answers.reworkCodingVersion(encounterID: claim.encounterID, on: connection)
            try await queue.enqueue(
                encounterID: claim.encounterID, from: stage, to: .rework, priority: 70, offeredTo: claim.codedBy,
                offerFor: .seconds(3600), audit: audit, action: "claim.back_to_coding",
                detail: try jsonObject(["carc": reasons, "claim_id": claim.id.uuidString]), on: connection
            )
            return "coding"
        }
        let resend = followups.first { $0.queue == .billing && Self.resendActions.contains($0.action) }
        guard let resend else { return nil }
        var frequency: String =
            switch resend.action {
            case .correctedClaim: "7"
            case .void: "8"
            default: "1"
            }
        // A payer that takes no replacements or voids gets a new original instead, and so does a
        // claim the payer found unprocessable (MA130): it was never adjudicated, so there is
        // nothing to replace.
        if frequency != "1", !claim.acceptsCorrections || remarkCodes.contains("MA130") { frequency = "1" }
        try await answers.newClaimVersion(after: claim.id, frequency: frequency, on: connection)
        try await queue.enqueue(
            encounterID: claim.encounterID, from: stage, to: .readyToBill, priority: 60, audit: audit,
            action: "claim.back_to_billing",
            detail: try jsonObject(["carc": reasons, "claim_id": claim.id.uuidString, "action": resend.action.rawValue]),
            on: connection
        )
        if frequency != "1" {
            // A replacement or void is held to the payer's limit for corrected claims.
            try await connection.query(
                """
                UPDATE work_items w SET filing_deadline = w.date_of_service + p.corrected_filing_limit_days
                FROM encounters e JOIN payers p ON p.id = e.payer_id
                WHERE w.encounter_id = \(claim.encounterID) AND e.id = w.encounter_id
                """,
                logger: logger
            )
        }
        return "billing"
    }

    static let resendActions: Set<DenialAction> = [.correctedClaim, .newOriginal, .void, .eligibilityReview]

    // MARK: Rows

    private func insertPayment(
        _ remitted: RemittanceClaim, claim: ClaimRow, remittanceID: Int64, reverses: Int64?, on connection: PostgresConnection
    ) async throws -> Int64 {
        let rows = try await connection.query(
            """
            INSERT INTO claim_payments (remittance_id, clp_position, claim_id, status_code, charge, paid, patient_responsibility,
                                        payer_claim_number, reverses_payment_id, remark_codes)
            VALUES (\(remittanceID), \(remitted.segmentPosition), \(claim.id), \(remitted.statusCode), \(remitted.charge),
                    \(remitted.paid), \(remitted.patientResponsibility), \(remitted.payerClaimControlNumber.map { String($0.prefix(50)) }),
                    \(reverses), \(remitted.remarkCodes))
            RETURNING id
            """,
            logger: logger
        )
        var paymentID: Int64 = 0
        for try await id in rows.decode(Int64.self) { paymentID = id }
        for adjustment in remitted.adjustments {
            try await insert(adjustment, paymentID: paymentID, lineIndex: nil, on: connection)
        }
        let matches = Self.match(remitted.lines, to: claim.lines, patientControlNumber: remitted.patientControlNumber)
        for (index, line) in remitted.lines.enumerated() {
            try await connection.query(
                """
                INSERT INTO payment_lines (payment_id, line_index, line_number, procedure_code, modifiers, charge, paid, allowed,
                                           units, line_item_control_number, remark_codes)
                VALUES (\(paymentID), \(index + 1), \(matches[index]), \(String(line.procedureCode.prefix(48))), \(line.modifiers),
                        \(line.charge), \(line.paid), \(line.allowed), \(line.units),
                        \(line.lineItemControlNumber.map { String($0.prefix(50)) }), \(line.remarkCodes))
                """,
                logger: logger
            )
            for adjustment in line.adjustments {
                try await insert(adjustment, paymentID: paymentID, lineIndex: index + 1, on: connection)
            }
        }
        return paymentID
    }

    private func insert(
        _ adjustment: RemittanceAdjustment, paymentID: Int64, lineIndex: Int?, on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO payment_adjustments (payment_id, line_index, group_code, carc, amount, quantity)
            VALUES (\(paymentID), \(lineIndex), \(adjustment.groupCode), \(adjustment.reasonCode), \(adjustment.amount),
                    \(adjustment.quantity))
            """,
            logger: logger
        )
    }

    /// Each SVC's service line number: by REF*6R when it names a line of this claim, else the
    /// first line not matched yet with the same procedure and modifiers, else the same
    /// procedure; nil when none fits.
    static func match(
        _ lines: [RemittanceLine], to claimLines: [(code: String, modifiers: [String])], patientControlNumber: String
    ) -> [Int?] {
        var taken: Set<Int> = []
        var result: [Int?] = Array(repeating: nil, count: lines.count)
        for (index, line) in lines.enumerated() {
            if let control = line.lineItemControlNumber,
                let number = (1...max(claimLines.count, 1)).first(where: {
                    X12Claim.lineItemControlNumber(patientControlNumber: patientControlNumber, line: $0) == control
                }), number <= claimLines.count, !taken.contains(number)
            {
                result[index] = number
                taken.insert(number)
            }
        }
        for exact in [true, false] {
            for (index, line) in lines.enumerated() where result[index] == nil {
                let code = line.billedProcedureCode ?? line.procedureCode
                let number = claimLines.indices.first { candidate in
                    !taken.contains(candidate + 1) && claimLines[candidate].code == code
                        && (!exact || claimLines[candidate].modifiers == line.modifiers)
                }
                if let number {
                    result[index] = number + 1
                    taken.insert(number + 1)
                }
            }
        }
        return result
    }

    private func paymentToReverse(claim: ClaimRow, _ reversal: RemittanceClaim, on connection: PostgresConnection) async throws -> Int64? {
        let rows = try await connection.query(
            """
            SELECT p.id FROM claim_payments p
            WHERE p.claim_id = \(claim.id) AND p.status_code <> '22' AND p.paid = \(-reversal.paid)
              AND NOT EXISTS (SELECT 1 FROM claim_payments r WHERE r.reverses_payment_id = p.id)
            ORDER BY (p.payer_claim_number IS NOT DISTINCT FROM \(reversal.payerClaimControlNumber)) DESC, p.id DESC
            LIMIT 1
            """,
            logger: logger
        )
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }

    private struct Posted {
        let claimID: UUID
        let encounterID: UUID
        let outcome: String
        let followups: [Followup]
    }

    private func postedAlready(remittanceID: Int64, position: Int, on connection: PostgresConnection) async throws -> Posted? {
        let rows = try await connection.query(
            """
            SELECT p.id, p.claim_id, c.encounter_id, p.status_code
            FROM claim_payments p JOIN claims c ON c.id = p.claim_id
            WHERE p.remittance_id = \(remittanceID) AND p.clp_position = \(position)
            """,
            logger: logger
        )
        var found: (Int64, UUID, UUID, String)?
        for try await row in rows.decode((Int64, UUID, UUID, String).self) { found = row }
        guard let (paymentID, claimID, encounterID, status) = found else { return nil }
        let followupRows = try await connection.query(
            """
            SELECT line_index, queue, action, group_code, carc, rule_id FROM denial_followups
            WHERE payment_id = \(paymentID) ORDER BY id
            """,
            logger: logger
        )
        var followups: [Followup] = []
        for try await (line, queueName, action, group, carc, rule) in followupRows.decode((Int?, String, String, String, String, Int?).self)
        {
            guard let queueValue = DenialQueue(rawValue: queueName), let actionValue = DenialAction(rawValue: action) else { continue }
            followups.append(
                Followup(lineIndex: line, queue: queueValue, action: actionValue, groupCode: group, reasonCode: carc, ruleID: rule))
        }
        let outcome =
            switch status {
            case "4": "denied"
            case "22": "reversed"
            case "23": "forwarded"
            case "25": "predetermination"
            default: "paid"
            }
        return Posted(claimID: claimID, encounterID: encounterID, outcome: outcome, followups: followups)
    }

    private func claim(pcn: String, practiceIDs: Set<UUID>, on connection: PostgresConnection) async throws -> ClaimRow? {
        let rows = try await connection.query(
            """
            SELECT c.id, c.encounter_id, c.status, e.stage, e.coded_by, e.practice_id,
                   coalesce((SELECT py.accepts_corrections FROM payers py
                             WHERE py.payer_code = c.snapshot->'payer'->>'payerCode'), true),
                   coalesce((SELECT array_agg(l->>'code' ORDER BY n) FROM jsonb_array_elements(c.snapshot->'codes'->'lines')
                             WITH ORDINALITY AS t(l, n)), '{}'),
                   coalesce((SELECT array_agg(coalesce((SELECT string_agg(m, ',') FROM jsonb_array_elements_text(l->'modifiers') m), '')
                                              ORDER BY n)
                             FROM jsonb_array_elements(c.snapshot->'codes'->'lines') WITH ORDINALITY AS t(l, n)), '{}')
            FROM interchange_claims ic
            JOIN claims c ON c.id = ic.claim_id
            JOIN encounters e ON e.id = c.encounter_id
            WHERE ic.patient_control_number = \(pcn) AND e.practice_id = ANY (\(Array(practiceIDs)))
            FOR UPDATE OF c, e
            """,
            logger: logger
        )
        for try await (id, encounterID, status, stage, codedBy, practiceID, accepts, codes, modifiers) in rows.decode(
            (UUID, UUID, String, String, UUID?, UUID, Bool, [String], [String]).self)
        {
            let lines = zip(codes, modifiers).map { (code: $0, modifiers: $1.isEmpty ? [] : $1.split(separator: ",").map(String.init)) }
            return ClaimRow(
                id: id, encounterID: encounterID, status: status, stage: Stage(rawValue: stage) ?? .submitted, codedBy: codedBy,
                practiceID: practiceID, acceptsCorrections: accepts, lines: lines)
        }
        return nil
    }

    private func exception(
        remittanceID: Int64, position: Int?, kind: String, claimID: UUID?, practiceIDs: Set<UUID>, pcn: String?, paid: Decimal?,
        reason: String, on connection: PostgresConnection
    ) async throws -> (exception: PostingException, isNew: Bool) {
        let rows = try await connection.query(
            """
            INSERT INTO remittance_exceptions (remittance_id, clp_position, kind, claim_id, practice_ids, patient_control_number,
                                               paid, reason)
            VALUES (\(remittanceID), \(position), \(kind), \(claimID), \(Array(practiceIDs)), \(pcn.map { String($0.prefix(38)) }),
                    \(paid), \(String(reason.prefix(1000))))
            ON CONFLICT (remittance_id, coalesce(clp_position, 0), kind) DO NOTHING
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(Int64.self) {
            return (
                PostingException(
                    id: id, kind: kind, patientControlNumber: pcn, claimID: claimID, reason: reason, segmentPosition: position), true
            )
        }
        let existing = try await connection.query(
            """
            SELECT id FROM remittance_exceptions
            WHERE remittance_id = \(remittanceID) AND coalesce(clp_position, 0) = \(position ?? 0) AND kind = \(kind)
            """,
            logger: logger
        )
        var id: Int64 = 0
        for try await found in existing.decode(Int64.self) { id = found }
        return (
            PostingException(id: id, kind: kind, patientControlNumber: pcn, claimID: claimID, reason: reason, segmentPosition: position),
            false
        )
    }
}
