public import ClaimFlowCore
public import Foundation
public import Logging
public import PostgresNIO

/// Claims: one row per claim version of an encounter, built from that version's codes.
public struct ClaimStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    let queue: WorkQueue

    public init(client: PostgresClient, logger: Logger, queue: WorkQueue) {
        self.client = client
        self.logger = logger
        self.queue = queue
    }

    /// Passes a coded encounter on to billing: the claim for its current version (created, or
    /// made ready again after billing withdrew it) and a billing work item, in one transaction.
    /// The handoff worker calls this once the handoff rules pass.
    @discardableResult
    public func handOff(encounterID: UUID, audit: AuditContext, on connection: PostgresConnection? = nil) async throws -> UUID {
        if let connection { return try await handOff(encounterID, audit, connection) }
        return try await client.transaction(logger: logger) { try await handOff(encounterID, audit, $0) }
    }

    private func handOff(_ encounterID: UUID, _ audit: AuditContext, _ connection: PostgresConnection) async throws -> UUID {
        let rows = try await connection.query(
            """
            INSERT INTO claims (encounter_id, version, total_charge, coded_by)
            SELECT e.id, e.version,
                   coalesce((SELECT sum(charge) FROM service_lines s WHERE s.encounter_id = e.id AND s.version = e.version), 0),
                   e.coded_by
            FROM encounters e WHERE e.id = \(encounterID) AND e.stage = 'coded'
            ON CONFLICT (encounter_id, version) DO UPDATE
            SET status = 'ready', total_charge = EXCLUDED.total_charge, coded_by = EXCLUDED.coded_by
            WHERE claims.status = 'withdrawn'
            RETURNING id
            """,
            logger: logger
        )
        var claimID: UUID?
        for try await id in rows.decode(UUID.self) { claimID = id }
        guard let claimID else {
            throw StoreError(.wrongStage, "encounter \(encounterID) is not coded, or its claim was already handed off")
        }
        try await queue.enqueue(
            encounterID: encounterID, from: .coded, to: .readyToBill, audit: audit, action: "handoff.passed",
            on: connection
        )
        return claimID
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
        try await client.transaction(logger: logger) { connection in
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
                       e.date_of_service::text, e.place_of_service
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
            for try await row in rows {
                let cells = try row.decode(
                    (
                        UUID, UUID, Int, String, String, String, Decimal, UUID, String, String, String, String, String,
                        String, String?, String, String, String, Bool, String, String, String, String, String, String?,
                        String, String, String, String, String, String?, String?, String?, String?, String, String,
                        String, String, String?, String?, String?, String?, String, String
                    ).self
                )
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
                .codes(of: found.encounterID, version: found.version, on: connection)
            try await recordRead(encounterID: found.encounterID, view: "biller", audit: audit, on: connection)
            return found
        }
    }

    /// Submits the claim: ends the biller's lease (checked), marks the claim submitted and
    /// moves the encounter to `submitted`, atomically.
    public func submit(claimID: UUID, leaseID: UUID, holder: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws {
        try await client.transaction(logger: logger) { connection in
            let encounterID = try await encounter(ofClaim: claimID, status: "ready", practiceIDs: practiceIDs, on: connection)
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
        try await client.transaction(logger: logger) { connection in
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
