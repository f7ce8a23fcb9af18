public import ClaimFlowCore
public import Foundation
import PostgresNIO

/// What billers read of posted remittances: a claim's money, the exceptions an upload could
/// not post, and the routed denials waiting for someone.
extension RemittanceStore {
    /// A claim version's money: its charges, each payment and adjustment by line, and what is
    /// left. Amounts are summed from the posted rows, so they are what the payers sent.
    public struct ClaimMoney: Sendable, Hashable, Encodable {
        public let claimID: UUID
        public let encounterID: UUID
        public let version: Int
        public let status: String
        @MoneyAmount public var totalCharge: Decimal
        /// Σ CLP04 over every payment, reversals included.
        @MoneyAmount public var paid: Decimal
        /// Σ CAS of groups CO, OA, PI and CR: what the provider does not collect.
        @MoneyAmount public var adjusted: Decimal
        /// Σ CAS of group PR: what the patient owes.
        @MoneyAmount public var patientResponsibility: Decimal
        /// Charge − paid − adjusted − patient responsibility: what no payment has answered yet.
        @MoneyAmount public var balance: Decimal
        public let lines: [LineMoney]
        public let payments: [PaymentMoney]
        public let followups: [FollowupView]
    }

    /// One service line's charge and what every payment did with it.
    public struct LineMoney: Sendable, Hashable, Encodable {
        public let lineNumber: Int
        public let code: String
        public let modifiers: [String]
        @MoneyAmount public var charge: Decimal
        @MoneyAmount public var paid: Decimal
        @MoneyAmount public var adjusted: Decimal
        @MoneyAmount public var patientResponsibility: Decimal
    }

    /// One posted CLP.
    public struct PaymentMoney: Sendable, Hashable, Encodable {
        public let id: Int64
        public let checkNumber: String
        public let payerCode: String
        public let statusCode: String
        @MoneyAmount public var charge: Decimal
        @MoneyAmount public var paid: Decimal
        public let reversesPaymentID: Int64?
        public let postedAt: Date
        public let adjustments: [AdjustmentMoney]
    }

    /// One CAS adjustment; `lineNumber` nil at the claim level (or for a line the payer
    /// answered that matches none of the claim's).
    public struct AdjustmentMoney: Sendable, Hashable, Encodable {
        public let lineNumber: Int?
        public let groupCode: String
        public let reasonCode: String
        @MoneyAmount public var amount: Decimal
    }

    /// A routed denial.
    public struct FollowupView: Sendable, Hashable, Encodable {
        public let id: Int64
        public let claimID: UUID
        public let encounterID: UUID
        public let lineNumber: Int?
        public let queue: String
        public let action: String
        public let groupCode: String
        public let reasonCode: String
        public let remarkCodes: [String]
        @MoneyAmount public var amount: Decimal
        public let createdAt: Date
        public let closedAt: Date?
    }

    /// An upload's exception.
    public struct ExceptionView: Sendable, Hashable, Encodable {
        public let id: Int64
        public let kind: String
        public let checkNumber: String
        public let payerCode: String
        public let segmentPosition: Int?
        public let claimID: UUID?
        public let patientControlNumber: String?
        public let paid: MoneyAmount?
        public let reason: String
        public let createdAt: Date
        public let resolvedAt: Date?
        public let resolution: String?
    }

    public func money(claimID: UUID, practiceIDs: Set<UUID>) async throws -> ClaimMoney {
        try await database.withConnection(nil) { connection in
            let claimRows = try await connection.query(
                """
                SELECT c.encounter_id, c.version, c.status, c.total_charge,
                       coalesce((SELECT array_agg(l->>'code' ORDER BY n)
                                 FROM jsonb_array_elements(c.snapshot->'codes'->'lines') WITH ORDINALITY AS t(l, n)), '{}'),
                       coalesce((SELECT array_agg(coalesce((SELECT string_agg(m, ',') FROM jsonb_array_elements_text(l->'modifiers') m), '')
                                                  ORDER BY n)
                                 FROM jsonb_array_elements(c.snapshot->'codes'->'lines') WITH ORDINALITY AS t(l, n)), '{}'),
                       coalesce((SELECT array_agg(l->>'charge' ORDER BY n)
                                 FROM jsonb_array_elements(c.snapshot->'codes'->'lines') WITH ORDINALITY AS t(l, n)), '{}')
                FROM claims c JOIN encounters e ON e.id = c.encounter_id
                WHERE c.id = \(claimID) AND e.practice_id = ANY (\(Array(practiceIDs)))
                """,
                logger: logger
            )
            var found: (UUID, Int, String, Decimal, [String], [String], [String])?
            for try await row in claimRows.decode((UUID, Int, String, Decimal, [String], [String], [String]).self) { found = row }
            guard let (encounterID, version, status, totalCharge, codes, modifiers, charges) = found else {
                throw StoreError(.notFound, "claim \(claimID) not found")
            }

            let paymentRows = try await connection.query(
                """
                SELECT p.id, r.check_number, r.payer_code, p.status_code, p.charge, p.paid, p.reverses_payment_id, p.posted_at
                FROM claim_payments p JOIN remittances r ON r.id = p.remittance_id
                WHERE p.claim_id = \(claimID) ORDER BY p.id
                """,
                logger: logger
            )
            var payments: [(Int64, String, String, String, Decimal, Decimal, Int64?, Date)] = []
            for try await row in paymentRows.decode((Int64, String, String, String, Decimal, Decimal, Int64?, Date).self) {
                payments.append(row)
            }
            let adjustmentRows = try await connection.query(
                """
                SELECT a.payment_id, l.line_number, a.group_code, a.carc, a.amount
                FROM payment_adjustments a
                JOIN claim_payments p ON p.id = a.payment_id
                LEFT JOIN payment_lines l ON l.payment_id = a.payment_id AND l.line_index = a.line_index
                WHERE p.claim_id = \(claimID) ORDER BY a.id
                """,
                logger: logger
            )
            var adjustments: [Int64: [AdjustmentMoney]] = [:]
            for try await (paymentID, line, group, carc, amount) in adjustmentRows.decode((Int64, Int?, String, String, Decimal).self) {
                adjustments[paymentID, default: []].append(
                    AdjustmentMoney(lineNumber: line, groupCode: group, reasonCode: carc, amount: amount))
            }
            let linePaidRows = try await connection.query(
                """
                SELECT l.line_number, sum(l.paid) FROM payment_lines l JOIN claim_payments p ON p.id = l.payment_id
                WHERE p.claim_id = \(claimID) AND l.line_number IS NOT NULL GROUP BY l.line_number
                """,
                logger: logger
            )
            var linePaid: [Int: Decimal] = [:]
            for try await (line, paid) in linePaidRows.decode((Int, Decimal).self) { linePaid[line] = paid }

            let all = adjustments.values.flatMap { $0 }
            func sum(_ items: [AdjustmentMoney], patient: Bool) -> Decimal {
                items.filter { ($0.groupCode == "PR") == patient }.reduce(0) { $0 + $1.amount }
            }
            let lines = codes.indices.map { index in
                let number = index + 1
                let onLine = all.filter { $0.lineNumber == number }
                return LineMoney(
                    lineNumber: number, code: codes[index],
                    modifiers: modifiers[index].isEmpty ? [] : modifiers[index].split(separator: ",").map(String.init),
                    charge: index < charges.count ? Decimal(string: charges[index], locale: Locale(identifier: "en_US_POSIX")) ?? 0 : 0,
                    paid: linePaid[number] ?? 0,
                    adjusted: sum(onLine, patient: false), patientResponsibility: sum(onLine, patient: true))
            }
            let paid = payments.reduce(Decimal(0)) { $0 + $1.5 }
            let adjusted = sum(all, patient: false)
            let patient = sum(all, patient: true)
            return ClaimMoney(
                claimID: claimID, encounterID: encounterID, version: version, status: status, totalCharge: totalCharge, paid: paid,
                adjusted: adjusted, patientResponsibility: patient, balance: totalCharge - paid - adjusted - patient, lines: lines,
                payments: payments.map { row in
                    PaymentMoney(
                        id: row.0, checkNumber: row.1, payerCode: row.2, statusCode: row.3, charge: row.4, paid: row.5,
                        reversesPaymentID: row.6, postedAt: row.7, adjustments: adjustments[row.0] ?? [])
                },
                followups: try await followups(where: "f.claim_id = \(claimID)", practiceIDs: practiceIDs, on: connection))
        }
    }

    /// Routed denials still open, oldest first; `queue` keeps one queue's.
    public func openFollowups(queue: DenialQueue?, practiceIDs: Set<UUID>, limit: Int = 200) async throws -> [FollowupView] {
        try await database.withConnection(nil) { connection in
            try await followups(
                where: "f.closed_at IS NULL AND (\(queue?.rawValue)::text IS NULL OR f.queue = \(queue?.rawValue))",
                practiceIDs: practiceIDs, limit: limit, on: connection)
        }
    }

    private func followups(
        where condition: SQLFragment, practiceIDs: Set<UUID>, limit: Int = 1000, on connection: PostgresConnection
    ) async throws -> [FollowupView] {
        let rows = try await connection.query(
            """
            SELECT f.id, f.claim_id, f.encounter_id, l.line_number, f.queue, f.action, f.group_code, f.carc, f.remark_codes,
                   f.amount, f.created_at, f.closed_at
            FROM denial_followups f
            JOIN encounters e ON e.id = f.encounter_id
            LEFT JOIN payment_lines l ON l.payment_id = f.payment_id AND l.line_index = f.line_index
            WHERE \(fragment: condition) AND e.practice_id = ANY (\(Array(practiceIDs)))
            ORDER BY f.id LIMIT \(limit)
            """,
            logger: logger
        )
        var result: [FollowupView] = []
        for try await (id, claimID, encounterID, line, queue, action, group, carc, remarks, amount, created, closed) in rows.decode(
            (Int64, UUID, UUID, Int?, String, String, String, String, [String], Decimal, Date, Date?).self)
        {
            result.append(
                FollowupView(
                    id: id, claimID: claimID, encounterID: encounterID, lineNumber: line, queue: queue, action: action, groupCode: group,
                    reasonCode: carc, remarkCodes: remarks, amount: amount, createdAt: created, closedAt: closed))
        }
        return result
    }

    /// The exceptions a user may see: those of claims in their practices, and those naming no
    /// claim that were uploaded by someone of no practice they lack.
    public func exceptions(open: Bool, practiceIDs: Set<UUID>, limit: Int = 200) async throws -> [ExceptionView] {
        try await database.withConnection(nil) { connection in
            try await exceptions(
                where: "(\(open) = false OR x.resolved_at IS NULL)", practiceIDs: practiceIDs, limit: limit, on: connection)
        }
    }

    /// Marks an exception settled (posted by hand, written off, sent back to the payer). The
    /// same resolution again changes nothing; a different one for a settled exception is a
    /// conflict.
    public func resolveException(
        id: Int64, resolution: String, practiceIDs: Set<UUID>, audit: AuditContext
    ) async throws -> (
        ExceptionView, changed: Bool
    ) {
        try await database.transaction { connection in
            guard let current = try await exceptions(where: "x.id = \(id)", practiceIDs: practiceIDs, limit: 1, on: connection).first
            else { throw StoreError(.notFound, "exception \(id) not found") }
            if let settled = current.resolution {
                guard settled == resolution else {
                    throw StoreError(.conflict, "exception \(id) is already resolved")
                }
                return (current, false)
            }
            try await connection.query(
                """
                UPDATE remittance_exceptions SET resolved_at = now(), resolved_by = \(audit.actorID), resolution = \(resolution)
                WHERE id = \(id)
                """,
                logger: logger
            )
            let updated = try await exceptions(where: "x.id = \(id)", practiceIDs: practiceIDs, limit: 1, on: connection)
            return (updated[0], true)
        }
    }

    private func exceptions(
        where condition: SQLFragment, practiceIDs: Set<UUID>, limit: Int, on connection: PostgresConnection
    ) async throws -> [ExceptionView] {
        let practices = Array(practiceIDs)
        let rows = try await connection.query(
            """
            SELECT x.id, x.kind, r.check_number, r.payer_code, x.clp_position, x.claim_id, x.patient_control_number, x.paid,
                   x.reason, x.created_at, x.resolved_at, x.resolution
            FROM remittance_exceptions x
            JOIN remittances r ON r.id = x.remittance_id
            LEFT JOIN claims c ON c.id = x.claim_id
            LEFT JOIN encounters e ON e.id = c.encounter_id
            WHERE \(fragment: condition)
              AND (e.practice_id = ANY (\(practices)) OR (x.claim_id IS NULL AND x.practice_ids <@ \(practices)))
            ORDER BY x.id LIMIT \(limit)
            """,
            logger: logger
        )
        var result: [ExceptionView] = []
        for try await (id, kind, check, payer, position, claimID, pcn, paid, reason, created, resolved, resolution) in rows.decode(
            (Int64, String, String, String, Int?, UUID?, String?, Decimal?, String, Date, Date?, String?).self)
        {
            result.append(
                ExceptionView(
                    id: id, kind: kind, checkNumber: check, payerCode: payer, segmentPosition: position, claimID: claimID,
                    patientControlNumber: pcn, paid: paid.map(MoneyAmount.init(wrappedValue:)), reason: reason, createdAt: created,
                    resolvedAt: resolved, resolution: resolution))
        }
        return result
    }
}
