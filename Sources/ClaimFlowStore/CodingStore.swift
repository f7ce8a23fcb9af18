public import ClaimFlowCore
public import Foundation
import Logging
public import PostgresNIO

/// A coder's work on an encounter: the codes (diagnoses and service lines, per coding
/// version), the coder's view of the encounter, and provider queries.
public struct CodingStore: QueueStore {
    public let queue: WorkQueue

    public init(queue: WorkQueue) { self.queue = queue }

    /// Replaces the draft codes of the encounter's current version and returns the draft the
    /// handoff rules would check. Only the holder of the live coding lease may write (and,
    /// with `practiceIDs`, only on an encounter of those practices).
    ///
    /// One statement, so one round trip and atomic without a transaction of its own: the lease
    /// row is locked first (the fence against a reassign or reap, as ``WorkQueue/requireLiveLease(encounterID:leaseID:holder:in:on:)``),
    /// then the codes are written over the old ones position by position and the rest removed,
    /// the work item's charges set and the event written. A stale lease writes nothing.
    @discardableResult
    public func saveDraft(
        encounterID: UUID,
        leaseID: UUID,
        holder: UUID,
        codes: CodeAssignment,
        audit: AuditContext,
        within practiceIDs: Set<UUID>? = nil,
        on connection: PostgresConnection? = nil
    ) async throws -> ClaimDraft {
        let practices = practiceIDs.map(Array.init)
        let positions = codes.diagnoses.isEmpty ? [] : Array(1...codes.diagnoses.count)
        let lines = try Self.linesJSON(codes.lines)
        let detail = try jsonObject(["diagnoses": String(codes.diagnoses.count), "lines": String(codes.lines.count)])
        let logged = AuditEntry(
            "codes.saved", by: audit, encounter: "id", practice: "practice_id", lease: "\(leaseID)",
            detail: "\(detail)::jsonb", rows: "FROM current"
        )
        return try await database.withConnection(connection) { connection in
            let rows = try await database.rows(
                """
                WITH lease AS (
                    SELECT encounter_id FROM work_items
                    WHERE encounter_id = \(encounterID) AND lease_id = \(leaseID) AND lease_holder = \(holder)
                      AND lease_expires_at > now() AND queue = 'coding'
                      AND (\(practices)::uuid[] IS NULL OR practice_id = ANY (\(practices)::uuid[]))
                    FOR UPDATE
                ), current AS (
                    SELECT e.id, e.version, e.practice_id FROM encounters e JOIN lease ON lease.encounter_id = e.id
                ), diagnoses_removed AS (
                    DELETE FROM diagnoses d USING current
                    WHERE d.encounter_id = current.id AND d.version = current.version
                      AND d.position > \(codes.diagnoses.count)
                ), diagnoses_saved AS (
                    INSERT INTO diagnoses (encounter_id, version, position, code)
                    SELECT current.id, current.version, d.position, d.code
                    FROM current, unnest(\(positions)::int[], \(codes.diagnoses)::text[]) AS d(position, code)
                    ON CONFLICT (encounter_id, version, position) DO UPDATE SET code = EXCLUDED.code
                ), lines_removed AS (
                    DELETE FROM service_lines l USING current
                    WHERE l.encounter_id = current.id AND l.version = current.version
                      AND l.line_number > \(codes.lines.count)
                ), lines_saved AS (
                    INSERT INTO service_lines (encounter_id, version, line_number, code, modifiers, units, charge, pointers,
                                               anesthesia_minutes, ndc, ndc_unit, ndc_quantity)
                    SELECT current.id, current.version, l.line_number, l.code, l.modifiers, l.units, l.charge, l.pointers,
                           l.anesthesia_minutes, l.ndc, l.ndc_unit, l.ndc_quantity
                    FROM current, jsonb_to_recordset(\(lines)::jsonb)
                         AS l(line_number smallint, code text, modifiers text[], units numeric, charge numeric, pointers smallint[],
                              anesthesia_minutes int, ndc text, ndc_unit text, ndc_quantity numeric)
                    ON CONFLICT (encounter_id, version, line_number) DO UPDATE
                    SET code = EXCLUDED.code, modifiers = EXCLUDED.modifiers, units = EXCLUDED.units,
                        charge = EXCLUDED.charge, pointers = EXCLUDED.pointers, anesthesia_minutes = EXCLUDED.anesthesia_minutes,
                        ndc = EXCLUDED.ndc, ndc_unit = EXCLUDED.ndc_unit, ndc_quantity = EXCLUDED.ndc_quantity
                ), charged AS (
                    -- The queue view's not-final-billed dollars read the charges from the work item.
                    UPDATE work_items w SET charges = \(codes.totalCharge) FROM lease WHERE w.encounter_id = lease.encounter_id
                ), logged AS (
                    \(logged)
                )
                SELECT e.version, e.date_of_service::text, pr.npi, v.npi, py.payer_code, s.member_id, e.place_of_service,
                       (SELECT c.total_charge FROM claims c WHERE c.encounter_id = e.id AND c.coding_version = e.version
                        ORDER BY c.version DESC LIMIT 1),
                       pt.sex, pt.birth_date::text, coalesce(e.claim_details ? 'serviceFacility', false),
                       pr.individual_last_name IS NOT NULL
                FROM current
                JOIN encounters e ON e.id = current.id
                JOIN patients pt ON pt.id = e.patient_id
                JOIN practices pr ON pr.id = e.practice_id
                LEFT JOIN providers v ON v.id = e.rendering_provider_id
                LEFT JOIN payers py ON py.id = e.payer_id
                LEFT JOIN subscribers s ON s.id = e.subscriber_id
                """,
                prepared: SaveCodes.self, on: connection
            )
            guard let row = rows.first else { throw try await queue.refusal(encounterID: encounterID, on: connection) }
            let columns = try row.decode(
                (Int, String, String, String?, String?, String?, String, Decimal?, String, String, Bool, Bool).self)
            return ClaimDraft(
                dateOfService: CalendarDate(columns.1) ?? CalendarDate(year: 1900, month: 1, day: 1)!, codes: codes,
                billingProviderNPI: columns.2, renderingProviderNPI: columns.3, payerCode: columns.4,
                subscriberMemberID: columns.5, placeOfService: columns.6, claimTotal: columns.7,
                patientSex: Sex(rawValue: columns.8), patientBirthDate: CalendarDate(columns.9), hasServiceFacility: columns.10,
                billingProviderIsIndividual: columns.11
            )
        }
    }

    /// The service lines as `jsonb_to_recordset` reads them: numbers as strings, so units and
    /// charges reach PostgreSQL exactly as written.
    private static func linesJSON(_ lines: [ServiceLine]) throws -> String {
        let objects: [[String: Any]] = lines.enumerated().map { index, line in
            var object: [String: Any] = [
                "line_number": index + 1, "code": line.code, "modifiers": line.modifiers, "units": "\(line.units)",
                "charge": "\(line.charge)", "pointers": line.pointers,
            ]
            if let minutes = line.anesthesiaMinutes { object["anesthesia_minutes"] = minutes }
            if let drug = line.drug {
                object["ndc"] = drug.ndc
                object["ndc_unit"] = drug.unit
                object["ndc_quantity"] = "\(drug.quantity)"
            }
            return object
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: objects), as: UTF8.self)
    }

    /// The codes of one coding version.
    public func codes(of encounterID: UUID, version: Int, on connection: PostgresConnection? = nil) async throws -> CodeAssignment {
        try await database.withConnection(connection) { connection in
            let diagnoses = try await database.rows(
                "SELECT code FROM diagnoses WHERE encounter_id = \(encounterID) AND version = \(version) ORDER BY position",
                prepared: DiagnosisCodes.self, on: connection
            ).map { try $0.decode(String.self) }
            let lines = try await database.rows(
                """
                SELECT code, modifiers, units, charge, pointers::int[], anesthesia_minutes, ndc, ndc_unit, ndc_quantity
                FROM service_lines
                WHERE encounter_id = \(encounterID) AND version = \(version) ORDER BY line_number
                """,
                prepared: LineCodes.self, on: connection
            ).map { row in
                let (code, modifiers, units, charge, pointers, minutes, ndc, unit, quantity) = try row.decode(
                    (String, [String], Decimal, Decimal, [Int], Int?, String?, String?, Decimal?).self)
                return ServiceLine(
                    code: code, modifiers: modifiers, units: units, charge: charge, pointers: pointers, anesthesiaMinutes: minutes,
                    drug: ndc.map { DrugIdentification(ndc: $0, unit: unit ?? "UN", quantity: quantity ?? 0) })
            }
            return CodeAssignment(diagnoses: diagnoses, lines: lines)
        }
    }

    /// The coder's view of an encounter in one of `practiceIDs` (nil otherwise: another
    /// practice's encounter does not exist for this user), recording the read of PHI.
    public func coderView(encounterID: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> CoderEncounterView? {
        let practices = Array(practiceIDs)
        // One statement (one snapshot, one round trip): the encounter, its current codes, its
        // provider queries and handoff findings, and the audit event of the read, written only
        // when the encounter was found.
        let logged = AuditEntry(
            "phi.viewed", by: audit, encounter: "id", practice: "practice_id", detail: "jsonb_build_object('view', 'coder')",
            rows: "FROM found"
        )
        let rows = try await database.rows(
            """
            WITH found AS (
                SELECT e.id, e.external_id, pr.code, e.stage, e.version, e.date_of_service::text AS date_of_service,
                       e.place_of_service, e.specialty, e.priority,
                       date_part('year', age(e.date_of_service, p.birth_date))::int AS age, p.sex,
                       coalesce(v.first_name || ' ' || v.last_name, '') AS provider, e.documentation, e.practice_id
                FROM encounters e
                JOIN practices pr ON pr.id = e.practice_id
                JOIN patients p ON p.id = e.patient_id
                LEFT JOIN providers v ON v.id = e.rendering_provider_id
                WHERE e.id = \(encounterID) AND e.practice_id = ANY (\(practices))
            ), logged AS (
                \(logged)
            )
            SELECT f.id, f.external_id, f.code, f.stage, f.version, f.date_of_service, f.place_of_service, f.specialty,
                   f.priority, f.age, f.sex, f.provider, f.documentation,
                   (SELECT coalesce(array_agg(d.code ORDER BY d.position), '{}') FROM diagnoses d
                    WHERE d.encounter_id = f.id AND d.version = f.version),
                   (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'code', l.code, 'modifiers', l.modifiers, 'units', l.units::text, 'charge', l.charge::text,
                               'pointers', l.pointers, 'anesthesia_minutes', l.anesthesia_minutes, 'ndc', l.ndc,
                               'ndc_unit', l.ndc_unit, 'ndc_quantity', l.ndc_quantity::text)) ORDER BY l.line_number), '[]')::text
                    FROM service_lines l WHERE l.encounter_id = f.id AND l.version = f.version),
                   (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'id', q.id, 'question', q.question, 'asked_at', extract(epoch FROM q.asked_at),
                               'answer', q.answer, 'answered_at', extract(epoch FROM q.answered_at)) ORDER BY q.asked_at), '[]')::text
                    FROM provider_queries q WHERE q.encounter_id = f.id),
                   (SELECT h.findings::text FROM handoff_findings h WHERE h.encounter_id = f.id AND h.version = f.version)
            FROM found f
            """,
            prepared: CoderView.self
        )
        guard let row = rows.first else { return nil }
        let columns = try row.decode(
            (
                UUID, String, String, String, Int, String, String, String, Int, Int, String, String, String, [String], String, String,
                String?
            ).self
        )
        let lines = try JSONDecoder().decode([StoredLine].self, from: Data(columns.14.utf8)).map(\.line)
        let queries = try JSONDecoder().decode([StoredQuery].self, from: Data(columns.15.utf8)).map(\.query)
        var view = CoderEncounterView(
            id: columns.0, externalID: columns.1, practiceCode: columns.2, stage: Stage(rawValue: columns.3) ?? .received,
            version: columns.4, dateOfService: CalendarDate(columns.5) ?? CalendarDate(year: 1900, month: 1, day: 1)!,
            placeOfService: columns.6, specialty: columns.7, priority: columns.8, patientAge: columns.9,
            patientSex: Sex(rawValue: columns.10) ?? .unknown, renderingProvider: columns.11, documentation: columns.12,
            codes: CodeAssignment(diagnoses: columns.13, lines: lines), queries: queries
        )
        view.findings = columns.16.map { (try? JSONDecoder().decode([CodingFinding].self, from: Data($0.utf8))) ?? [] } ?? []
        return view
    }

    /// Puts the encounter on hold with a question for the clinician, ending the coder's lease.
    public func askProvider(
        encounterID: UUID,
        leaseID: UUID,
        holder: UUID,
        question: String,
        audit: AuditContext
    ) async throws -> UUID {
        try await database.transaction { connection in
            try await queue.finish(
                encounterID: encounterID, leaseID: leaseID, holder: holder, queue: .coding, to: .onHold,
                action: "coding.query_asked", audit: audit, on: connection
            )
            let rows = try await connection.query(
                """
                INSERT INTO provider_queries (encounter_id, asked_by, question)
                VALUES (\(encounterID), \(holder), \(question))
                RETURNING id
                """,
                logger: logger
            )
            for try await id in rows.decode(UUID.self) { return id }
            throw StoreError(.conflict, "the query was not saved")
        }
    }

    /// The encounter's current coding version as the handoff rules see it, or nil when there is
    /// no such encounter.
    public func draft(of encounterID: UUID, on connection: PostgresConnection? = nil) async throws -> ClaimDraft? {
        try await database.withConnection(connection) { connection in
            let rows = try await database.rows(
                """
                SELECT e.version, e.date_of_service::text, pr.npi, v.npi, py.payer_code, s.member_id, e.place_of_service,
                       (SELECT c.total_charge FROM claims c WHERE c.encounter_id = e.id AND c.coding_version = e.version
                        ORDER BY c.version DESC LIMIT 1),
                       pt.sex, pt.birth_date::text, coalesce(e.claim_details ? 'serviceFacility', false),
                       pr.individual_last_name IS NOT NULL
                FROM encounters e
                JOIN patients pt ON pt.id = e.patient_id
                JOIN practices pr ON pr.id = e.practice_id
                LEFT JOIN providers v ON v.id = e.rendering_provider_id
                LEFT JOIN payers py ON py.id = e.payer_id
                LEFT JOIN subscribers s ON s.id = e.subscriber_id
                WHERE e.id = \(encounterID)
                """,
                prepared: HandoffDraft.self, on: connection
            )
            for row in rows {
                let row = try row.decode(
                    (Int, String, String, String?, String?, String?, String, Decimal?, String, String, Bool, Bool).self)
                let codes = try await codes(of: encounterID, version: row.0, on: connection)
                return ClaimDraft(
                    dateOfService: CalendarDate(row.1) ?? CalendarDate(year: 1900, month: 1, day: 1)!, codes: codes,
                    billingProviderNPI: row.2, renderingProviderNPI: row.3, payerCode: row.4, subscriberMemberID: row.5,
                    placeOfService: row.6, claimTotal: row.7, patientSex: Sex(rawValue: row.8),
                    patientBirthDate: CalendarDate(row.9), hasServiceFacility: row.10, billingProviderIsIndividual: row.11
                )
            }
            return nil
        }
    }

    /// The findings of the handoff check of the encounter's current version, if it was checked.
    func handoffFindings(of encounterID: UUID, on connection: PostgresConnection) async throws -> [CodingFinding] {
        let rows = try await connection.query(
            """
            SELECT f.findings::text FROM handoff_findings f JOIN encounters e ON e.id = f.encounter_id
            WHERE f.encounter_id = \(encounterID) AND f.version = e.version
            """,
            logger: logger
        )
        for try await text in rows.decode(String.self) {
            return (try? JSONDecoder().decode([CodingFinding].self, from: Data(text.utf8))) ?? []
        }
        return []
    }

    /// The handoff check failed: the coded encounter goes back to coding with every finding,
    /// offered first to its coder (alone, for `offerFor`), then to anyone. Runs in the
    /// caller's transaction (the handoff worker's batch).
    public func returnFromHandoff(
        encounterID: UUID,
        findings: [CodingFinding],
        offerFor: Duration,
        on connection: PostgresConnection
    ) async throws {
        let encoded = String(decoding: try JSONEncoder().encode(findings), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO handoff_findings (encounter_id, version, findings)
            SELECT id, version, \(encoded)::jsonb FROM encounters WHERE id = \(encounterID)
            ON CONFLICT (encounter_id, version) DO UPDATE SET findings = EXCLUDED.findings, checked_at = now()
            """,
            logger: logger
        )
        var coder: UUID?
        let rows = try await connection.query("SELECT coded_by FROM encounters WHERE id = \(encounterID)", logger: logger)
        for try await codedBy in rows.decode(UUID?.self) { coder = codedBy }
        let errors = findings.filter { $0.severity == .error }.count
        try await queue.enqueue(
            encounterID: encounterID, from: .coded, to: .returnedToCoding, offeredTo: coder, offerFor: offerFor,
            audit: .system, action: "handoff.returned",
            detail: try jsonObject([
                "errors": String(errors), "rules": Set(findings.map(\.rule)).sorted().joined(separator: ","),
                // What sent it back, for the scrubber report: the rules of the errors alone.
                "blocking": Set(findings.filter { $0.severity == .error }.map(\.rule)).sorted().joined(separator: ","),
            ]),
            on: connection
        )
    }

    /// Records the clinician's answer to the open provider query and puts the encounter back
    /// in the coding queue, offered first to the coder who asked.
    public func answerQuery(
        encounterID: UUID,
        answer: String,
        offerFor: Duration = .seconds(3600),
        audit: AuditContext
    ) async throws {
        try await database.transaction { connection in
            let asker = try await database.first(
                UUID.self,
                """
                UPDATE provider_queries SET answer = \(answer), answered_by = \(audit.actorID), answered_at = now()
                WHERE encounter_id = \(encounterID) AND answered_at IS NULL
                RETURNING asked_by
                """,
                on: connection
            )
            guard let asker else {
                throw StoreError(.wrongStage, "encounter \(encounterID) has no open provider query")
            }
            try await queue.enqueue(
                encounterID: encounterID, from: .onHold, to: .readyToCode, offeredTo: asker, offerFor: offerFor,
                audit: audit, action: "coding.query_answered", on: connection
            )
        }
    }

    func queries(of encounterID: UUID, on connection: PostgresConnection) async throws -> [ProviderQuery] {
        let rows = try await connection.query(
            """
            SELECT id, question, asked_at, answer, answered_at FROM provider_queries
            WHERE encounter_id = \(encounterID) ORDER BY asked_at
            """,
            logger: logger
        )
        var result: [ProviderQuery] = []
        for try await (id, question, askedAt, answer, answeredAt) in rows.decode((UUID, String, Date, String?, Date?).self) {
            result.append(ProviderQuery(id: id, question: question, askedAt: askedAt, answer: answer, answeredAt: answeredAt))
        }
        return result
    }

    private func currentVersion(of encounterID: UUID, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("SELECT version FROM encounters WHERE id = \(encounterID)", logger: logger)
        for try await version in rows.decode(Int.self) { return version }
        throw StoreError(.notFound, "encounter \(encounterID) not found")
    }
}

/// Writes the audit event for a read of an encounter's PHI.
func recordRead(encounterID: UUID, view: String, audit: AuditContext, on connection: PostgresConnection) async throws {
    try await AuditEntry(
        "phi.viewed", by: audit, encounter: "id", practice: "practice_id", detail: "jsonb_build_object('view', \(view))",
        rows: "FROM encounters WHERE id = \(encounterID)"
    ).write(on: connection, logger: Logger(label: "claimflow.audit"))
}

// MARK: - What the coder reads

/// What a coder sees of an encounter: the documentation, the demographics coding needs
/// (age and sex), and the codes. No names, member ids or addresses (minimum necessary).
///
/// Lives beside the query that fills it: only
/// ``CodingStore/coderView(encounterID:practiceIDs:audit:)`` makes one, so the memberwise
/// initialiser Swift writes serves; callers only read it.
public struct CoderEncounterView: Sendable, Hashable, Codable {
    public var id: UUID
    public var externalID: String
    public var practiceCode: String
    public var stage: Stage
    public var version: Int
    public var dateOfService: CalendarDate
    public var placeOfService: String
    public var specialty: String
    public var priority: Int
    public var patientAge: Int
    public var patientSex: Sex
    public var renderingProvider: String
    public var documentation: String
    public var codes: CodeAssignment
    /// Open or answered provider queries, oldest first.
    public var queries: [ProviderQuery]
    /// Why the handoff check sent this version back, when it did.
    public var findings: [CodingFinding] = []
}

/// A coder's question to the clinician and, once given, the answer.
///
/// Lives beside the query that reads them back: only the coding store makes one, for
/// ``CoderEncounterView/queries``.
public struct ProviderQuery: Sendable, Hashable, Codable {
    public var id: UUID
    public var question: String
    public var askedAt: Date
    public var answer: String?
    public var answeredAt: Date?
}

/// A service line as the coder's view reads it from the database, as JSON: numbers as text,
/// so units and charges keep their exact decimal value.
private struct StoredLine: Decodable {
    let code: String
    let modifiers: [String]
    let units: String
    let charge: String
    let pointers: [Int]
    let anesthesiaMinutes: Int?
    let ndc: String?
    let ndcUnit: String?
    let ndcQuantity: String?
    enum CodingKeys: String, CodingKey {
        case code, modifiers, units, charge, pointers, ndc
        case anesthesiaMinutes = "anesthesia_minutes", ndcUnit = "ndc_unit", ndcQuantity = "ndc_quantity"
    }

    var line: ServiceLine {
        ServiceLine(
            code: code, modifiers: modifiers, units: Decimal(string: units) ?? 0, charge: Decimal(string: charge) ?? 0,
            pointers: pointers, anesthesiaMinutes: anesthesiaMinutes,
            drug: ndc.map { DrugIdentification(ndc: $0, unit: ndcUnit ?? "UN", quantity: Decimal(string: ndcQuantity ?? "") ?? 0) })
    }
}

/// A provider query as the coder's view reads it from the database, as JSON: times as
/// seconds since 1970.
private struct StoredQuery: Decodable {
    let id: UUID
    let question: String
    let askedAt: Double
    let answer: String?
    let answeredAt: Double?
    enum CodingKeys: String, CodingKey { case id, question, askedAt = "asked_at", answer, answeredAt = "answered_at" }

    var query: ProviderQuery {
        ProviderQuery(
            id: id, question: question, askedAt: Date(timeIntervalSince1970: askedAt), answer: answer,
            answeredAt: answeredAt.map(Date.init(timeIntervalSince1970:)))
    }
}

/// The coding store's hot-path statements (see ``PreparedName``).
enum CoderView: PreparedName {}
enum SaveCodes: PreparedName {}
enum DiagnosisCodes: PreparedName {}
enum LineCodes: PreparedName {}
enum HandoffDraft: PreparedName {}
