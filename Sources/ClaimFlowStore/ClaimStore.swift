public import ClaimFlowCore
public import Foundation
public import PostgresNIO

/// Claims: one row per claim version of an encounter, built from that version's codes.
public struct ClaimStore: QueueStore {
    public let queue: WorkQueue

    public init(queue: WorkQueue) { self.queue = queue }

    /// Passes a coded encounter on to billing: the claim for its current version (created, or
    /// made ready again after billing withdrew it) and a billing work item, in one transaction.
    /// The handoff worker calls this once the handoff rules pass.
    @discardableResult
    public func handOff(encounterID: UUID, audit: AuditContext, on connection: PostgresConnection? = nil) async throws -> UUID {
        try await database.transaction(joining: connection) { connection in
            let claimID = try await claimForHandoff(encounterID, on: connection)
            try await queue.enqueue(
                encounterID: encounterID, from: .coded, to: .readyToBill, audit: audit, action: "handoff.passed",
                detail: try jsonObject(["claim_id": claimID.uuidString]), on: connection
            )
            return claimID
        }
    }

    /// The claim version that carries the encounter's current coding version to billing:
    /// the withdrawn one made ready again when billing had sent it back unsubmitted; otherwise
    /// a new version, replacing (frequency 7) the version the payer already has, if any.
    private func claimForHandoff(_ encounterID: UUID, on connection: PostgresConnection) async throws -> UUID {
        var previous: (id: UUID, version: Int, codingVersion: Int, status: String, payerNumber: String?)?
        let rows = try await connection.query(
            """
            SELECT id, version, coding_version, status, payer_claim_number FROM claims
            WHERE encounter_id = \(encounterID) ORDER BY version DESC LIMIT 1
            """,
            logger: logger
        )
        for try await row in rows.decode((UUID, Int, Int, String, String?).self) {
            previous = (row.0, row.1, row.2, row.3, row.4)
        }
        if let previous, previous.status == "withdrawn" {
            let updated = try await connection.query(
                """
                UPDATE claims c
                SET status = 'ready', coding_version = e.version, coded_by = e.coded_by,
                    total_charge = coalesce((SELECT sum(charge) FROM service_lines s
                                             WHERE s.encounter_id = e.id AND s.version = e.version), 0)
                FROM encounters e
                WHERE c.id = \(previous.id) AND e.id = c.encounter_id AND e.stage = 'coded'
                RETURNING c.id
                """,
                logger: logger
            )
            for try await id in updated.decode(UUID.self) { return id }
            throw StoreError(.wrongStage, "encounter \(encounterID) is not coded")
        }
        // The payer has the previous version when it answered it: replace that one.
        let replaces = previous.flatMap { ["accepted", "paid", "denied"].contains($0.status) ? $0.id : nil }
        let inserted = try await connection.query(
            """
            INSERT INTO claims (encounter_id, version, coding_version, frequency_code, replaces_claim_id, payer_claim_number,
                                total_charge, coded_by)
            SELECT e.id, \((previous?.version ?? 0) + 1), e.version, CASE WHEN \(replaces)::uuid IS NULL THEN '1' ELSE '7' END,
                   \(replaces), \(replaces == nil ? nil : previous?.payerNumber),
                   coalesce((SELECT sum(charge) FROM service_lines s WHERE s.encounter_id = e.id AND s.version = e.version), 0),
                   e.coded_by
            FROM encounters e WHERE e.id = \(encounterID) AND e.stage = 'coded'
            RETURNING id
            """,
            logger: logger
        )
        for try await id in inserted.decode(UUID.self) { return id }
        throw StoreError(.wrongStage, "encounter \(encounterID) is not coded")
    }

    /// The encounter's current claim (its latest version), if it has one in the user's practices.
    public func currentClaimID(encounterID: UUID, practiceIDs: Set<UUID>) async throws -> UUID? {
        let rows = try await client.query(
            """
            SELECT c.id FROM claims c JOIN encounters e ON e.id = c.encounter_id
            WHERE c.encounter_id = \(encounterID) AND e.practice_id = ANY (\(Array(practiceIDs)))
            ORDER BY c.version DESC LIMIT 1
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// The biller's view of a claim in one of `practiceIDs`, recording the read of PHI.
    public func billerView(claimID: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> BillerClaimView? {
        try await database.transaction { connection in
            let rows = try await connection.query(
                """
                SELECT c.id, c.encounter_id, c.version, c.frequency_code, c.status, e.stage, c.total_charge,
                       pr.id, pr.code, pr.name, pr.npi, pr.tax_id, pr.taxonomy, pr.address_line1, pr.address_line2,
                       pr.city, pr.state, pr.postal_code, pr.segregate_duties,
                       coalesce(v.npi, ''), coalesce(v.first_name || ' ' || v.last_name, ''),
                       coalesce(py.payer_code, ''), coalesce(py.name, ''), coalesce(s.member_id, ''), s.group_number,
                       e.patient_relationship,
                       coalesce(s.first_name, p.first_name), coalesce(s.last_name, p.last_name),
                       coalesce(s.birth_date, p.birth_date)::text, coalesce(s.sex, p.sex),
                       s.address_line1, s.city, s.state, s.postal_code,
                       p.first_name, p.last_name, p.birth_date::text, p.sex,
                       p.address_line1, p.city, p.state, p.postal_code,
                       e.date_of_service::text, e.place_of_service, c.coding_version
                FROM claims c
                JOIN encounters e ON e.id = c.encounter_id
                JOIN practices pr ON pr.id = e.practice_id
                JOIN patients p ON p.id = e.patient_id
                LEFT JOIN subscribers s ON s.id = e.subscriber_id
                LEFT JOIN payers py ON py.id = e.payer_id
                LEFT JOIN providers v ON v.id = e.rendering_provider_id
                WHERE c.id = \(claimID) AND e.practice_id = ANY (\(Array(practiceIDs)))
                """,
                logger: logger
            )
            var view: BillerClaimView?
            var codingVersion = 1
            for try await row in rows {
                let cells = try row.decode(
                    (
                        UUID, UUID, Int, String, String, String, Decimal, UUID, String, String, String, String, String,
                        String, String?, String, String, String, Bool, String, String, String, String, String, String?,
                        String, String, String, String, String, String?, String?, String?, String?, String, String,
                        String, String, String?, String?, String?, String?, String, String, Int
                    ).self
                )
                codingVersion = cells.44
                let practice = Practice(
                    id: cells.7, code: cells.8, name: cells.9, npi: cells.10, taxID: cells.11, taxonomy: cells.12,
                    address: PostalAddress(line1: cells.13, line2: cells.14, city: cells.15, state: cells.16, postalCode: cells.17),
                    segregateDuties: cells.18
                )
                let subscriber = BillerClaimView.Party(
                    firstName: cells.26, lastName: cells.27, birthDate: Self.date(cells.28), sex: Sex(rawValue: cells.29) ?? .unknown,
                    address: Self.address(cells.30, cells.31, cells.32, cells.33)
                )
                let patient = BillerClaimView.Party(
                    firstName: cells.34, lastName: cells.35, birthDate: Self.date(cells.36), sex: Sex(rawValue: cells.37) ?? .unknown,
                    address: Self.address(cells.38, cells.39, cells.40, cells.41)
                )
                view = BillerClaimView(
                    id: cells.0, encounterID: cells.1, version: cells.2, frequencyCode: cells.3, status: cells.4,
                    stage: Stage(rawValue: cells.5) ?? .received, totalCharge: cells.6, practice: practice,
                    renderingProviderNPI: cells.19, renderingProviderName: cells.20, payerCode: cells.21, payerName: cells.22,
                    memberID: cells.23, groupNumber: cells.24, relationship: cells.25, subscriber: subscriber,
                    patient: patient, dateOfService: Self.date(cells.42), placeOfService: cells.43,
                    codes: CodeAssignment(diagnoses: [], lines: [])
                )
            }
            guard var found = view else { return nil }
            found.codes = try await CodingStore(client: client, logger: logger, queue: queue)
                .codes(of: found.encounterID, version: codingVersion, on: connection)
            try await recordRead(encounterID: found.encounterID, view: "biller", audit: audit, on: connection)
            return found
        }
    }

    /// Submits the claim: ends the biller's lease (checked), marks the claim submitted and
    /// moves the encounter to `submitted`, atomically.
    public func submit(claimID: UUID, leaseID: UUID, holder: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws {
        try await database.transaction { connection in
            let encounterID = try await encounter(ofClaim: claimID, status: "ready", practiceIDs: practiceIDs, on: connection)
            try await requireDutiesSegregated(encounterID: encounterID, biller: holder, on: connection)
            // Refuse now what the batcher could not write later.
            let claim = try await x12Claim(claimID, on: connection)
            do {
                _ = try X12Writer.interchange(X12Settings().envelope(interchange: 1, group: 1, at: Date()), claims: [claim])
            } catch {
                throw StoreError(.unsubmittable, "claim \(claimID) cannot be written as an 837P: \(error)")
            }
            try await queue.finish(
                encounterID: encounterID, leaseID: leaseID, holder: holder, queue: .billing, to: .submitted,
                action: "claim.submitted", detail: try jsonObject(["claim_id": claimID.uuidString]), audit: audit,
                on: connection
            )
            try await connection.query(
                "UPDATE claims SET status = 'submitted', submitted_by = \(holder), submitted_at = now() WHERE id = \(claimID)",
                logger: logger
            )
        }
    }

    /// Billing sends the claim back to coding with a reason: the unsubmitted claim is
    /// withdrawn and the encounter goes to the coding queue, offered first to its coder.
    public func returnToCoding(
        claimID: UUID,
        leaseID: UUID,
        holder: UUID,
        reason: String,
        practiceIDs: Set<UUID>,
        offerToCoderFor: Duration = .seconds(3600),
        audit: AuditContext
    ) async throws {
        try await database.transaction { connection in
            let encounterID = try await encounter(ofClaim: claimID, status: "ready", practiceIDs: practiceIDs, on: connection)
            var coder: UUID?
            let rows = try await connection.query("SELECT coded_by FROM encounters WHERE id = \(encounterID)", logger: logger)
            for try await codedBy in rows.decode(UUID?.self) { coder = codedBy }
            try await queue.requeue(
                encounterID: encounterID, leaseID: leaseID, holder: holder, from: .billing, to: .returnedToCoding,
                offeredTo: coder, offerFor: offerToCoderFor, action: "claim.returned_to_coding",
                detail: try jsonObject(["claim_id": claimID.uuidString, "reason": reason]), audit: audit, on: connection
            )
            try await connection.query("UPDATE claims SET status = 'withdrawn' WHERE id = \(claimID)", logger: logger)
        }
    }

    /// Everything the 837P needs for one claim version, read in the caller's transaction.
    public func x12Claim(_ claimID: UUID, on connection: PostgresConnection? = nil) async throws -> X12Claim {
        try await database.withConnection(connection) { connection in
            let rows = try await connection.query(
                """
                SELECT c.id, c.frequency_code, c.payer_claim_number, c.total_charge, e.place_of_service,
                       e.date_of_service::text, pr.code, pr.name, pr.npi, pr.tax_id, pr.taxonomy, pr.address_line1,
                       pr.address_line2, pr.city, pr.state, pr.postal_code, v.npi, v.first_name, v.last_name, v.taxonomy,
                       py.payer_code, py.name, py.filing_limit_days, s.member_id, s.group_number, e.patient_relationship,
                       s.first_name, s.last_name, s.birth_date::text, s.sex, s.address_line1, s.city, s.state, s.postal_code,
                       p.first_name, p.last_name, p.birth_date::text, p.sex, p.address_line1, p.city, p.state, p.postal_code,
                       c.encounter_id, c.coding_version
                FROM claims c
                JOIN encounters e ON e.id = c.encounter_id
                JOIN practices pr ON pr.id = e.practice_id
                JOIN patients p ON p.id = e.patient_id
                LEFT JOIN providers v ON v.id = e.rendering_provider_id
                JOIN payers py ON py.id = e.payer_id
                JOIN subscribers s ON s.id = e.subscriber_id
                WHERE c.id = \(claimID)
                """,
                logger: logger
            )
            for try await row in rows {
                let r = try row.decode(
                    (
                        UUID, String, String?, Decimal, String, String, String, String, String, String, String, String,
                        String?, String, String, String, String?, String?, String?, String?, String, String, Int, String,
                        String?, String, String, String, String, String, String?, String?, String?, String?, String, String,
                        String, String, String?, String?, String?, String?, UUID, Int
                    ).self
                )
                let practice = Practice(
                    code: r.6, name: r.7, npi: r.8, taxID: r.9, taxonomy: r.10,
                    address: PostalAddress(line1: r.11, line2: r.12, city: r.13, state: r.14, postalCode: r.15)
                )
                let rendering = r.16.map { npi in
                    X12Claim.RenderingProvider(npi: npi, firstName: r.17 ?? "", lastName: r.18 ?? "", taxonomy: r.19)
                }
                let subscriber = Person(
                    firstName: r.26, lastName: r.27, birthDate: Self.date(r.28), sex: Sex(rawValue: r.29) ?? .unknown,
                    address: Self.address(r.30, r.31, r.32, r.33)
                )
                let patient = Person(
                    firstName: r.34, lastName: r.35, birthDate: Self.date(r.36), sex: Sex(rawValue: r.37) ?? .unknown,
                    address: Self.address(r.38, r.39, r.40, r.41)
                )
                let codes = try await CodingStore(client: client, logger: logger, queue: queue)
                    .codes(of: r.42, version: r.43, on: connection)
                return X12Claim(
                    claimID: r.0, frequencyCode: r.1, payerClaimControlNumber: r.2, totalCharge: r.3, placeOfService: r.4,
                    dateOfService: Self.date(r.5), billingProvider: practice, renderingProvider: rendering,
                    payer: Payer(payerCode: r.20, name: r.21, filingLimitDays: r.22), memberID: r.23, groupNumber: r.24,
                    subscriber: subscriber, relationship: r.25, patient: patient, diagnoses: codes.diagnoses, lines: codes.lines
                )
            }
            throw StoreError(.notFound, "claim \(claimID) not found, or it has no payer or subscriber")
        }
    }

    /// Where the practice segregates duties, the coder of an encounter may not bill it.
    func requireDutiesSegregated(encounterID: UUID, biller: UUID, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            SELECT 1 FROM encounters e JOIN practices p ON p.id = e.practice_id
            WHERE e.id = \(encounterID) AND p.segregate_duties AND e.coded_by = \(biller)
            """,
            logger: logger
        )
        for try await _ in rows {
            throw StoreError(.segregationOfDuties, "the coder of encounter \(encounterID) may not bill it in this practice")
        }
    }

    private func encounter(
        ofClaim claimID: UUID,
        status: String,
        practiceIDs: Set<UUID>,
        on connection: PostgresConnection
    ) async throws -> UUID {
        let rows = try await connection.query(
            """
            SELECT c.encounter_id, c.status FROM claims c JOIN encounters e ON e.id = c.encounter_id
            WHERE c.id = \(claimID) AND e.practice_id = ANY (\(Array(practiceIDs)))
            FOR UPDATE OF c
            """,
            logger: logger
        )
        for try await (encounterID, current) in rows.decode((UUID, String).self) {
            guard current == status else {
                throw StoreError(.wrongStage, "claim \(claimID) is \(current), not \(status)")
            }
            return encounterID
        }
        throw StoreError(.notFound, "claim \(claimID) not found")
    }

    private static func date(_ text: String) -> CalendarDate {
        CalendarDate(text) ?? CalendarDate(year: 1900, month: 1, day: 1)!
    }

    private static func address(_ line1: String?, _ city: String?, _ state: String?, _ postalCode: String?) -> PostalAddress? {
        guard let line1, let city, let state, let postalCode else { return nil }
        return PostalAddress(line1: line1, city: city, state: state, postalCode: postalCode)
    }
}

// MARK: - What the biller reads

/// What a biller sees of a claim: what the 837P needs, and no clinical documentation.
///
/// Lives beside the query that fills it: only
/// ``ClaimStore/billerView(claimID:practiceIDs:audit:)`` makes one, so the memberwise
/// initialiser Swift writes serves; callers only read it.
public struct BillerClaimView: Sendable, Hashable, Codable {
    /// The subscriber or the patient, as the claim names them.
    public struct Party: Sendable, Hashable, Codable {
        public var firstName: String
        public var lastName: String
        public var birthDate: CalendarDate
        public var sex: Sex
        public var address: PostalAddress?
    }

    public var id: UUID
    public var encounterID: UUID
    public var version: Int
    public var frequencyCode: String
    public var status: String
    public var stage: Stage
    @MoneyAmount public var totalCharge: Decimal
    public var practice: Practice
    public var renderingProviderNPI: String
    public var renderingProviderName: String
    public var payerCode: String
    public var payerName: String
    public var memberID: String
    public var groupNumber: String?
    public var relationship: String
    public var subscriber: Party
    public var patient: Party
    public var dateOfService: CalendarDate
    public var placeOfService: String
    public var codes: CodeAssignment
}
