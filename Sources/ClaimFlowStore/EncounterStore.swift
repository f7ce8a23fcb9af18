public import ClaimFlowCore
import Crypto
public import Foundation
public import PostgresNIO

/// Encounters: intake, and the current stage of each.
public struct EncounterStore: QueueStore {
    public let queue: WorkQueue

    public init(queue: WorkQueue) { self.queue = queue }

    /// The outcome of an intake: the encounter's id, and whether this call created it.
    public struct Received: Sendable, Hashable {
        public let encounterID: UUID
        public let created: Bool
    }

    /// Records an encounter from the clinic and puts it in the coding queue, in one transaction.
    ///
    /// Idempotent on the practice's external id: the same intake again returns the same id
    /// (`created == false`); a different intake under the same external id is a `conflict`.
    public func receive(_ intake: EncounterIntake, audit: AuditContext) async throws -> Received {
        let digest = try Self.digest(of: intake)
        return try await database.transaction { connection in
            let existing = try await connection.query(
                """
                SELECT id, intake_digest FROM encounters
                WHERE practice_id = \(intake.practiceID) AND external_id = \(intake.externalID)
                """,
                logger: logger
            )
            for try await (id, storedDigest) in existing.decode((UUID, Data?).self) {
                guard storedDigest == digest else {
                    throw StoreError(
                        .conflict,
                        "external id is already used by encounter \(id) with different content"
                    )
                }
                return Received(encounterID: id, created: false)
            }

            let patientID = try await upsertPatient(intake, on: connection)
            let subscriberID = try await upsertSubscriber(intake, on: connection)
            // ON CONFLICT DO NOTHING: a concurrent intake of the same external id wins the
            // race; this one then finds its row and compares digests like a replay.
            let encounterID = try await database.first(
                UUID.self,
                """
                INSERT INTO encounters (practice_id, external_id, patient_id, subscriber_id, patient_relationship,
                                        payer_id, rendering_provider_id, date_of_service, place_of_service,
                                        specialty, priority, documentation, intake_digest)
                VALUES (\(intake.practiceID), \(intake.externalID), \(patientID), \(subscriberID),
                        \(intake.coverage.relationship), \(intake.coverage.payerID), \(intake.renderingProviderID),
                        \(intake.dateOfService.description)::date, \(intake.placeOfService), \(intake.specialty),
                        \(intake.priority), \(intake.documentation), \(digest))
                ON CONFLICT (practice_id, external_id) DO NOTHING
                RETURNING id
                """,
                on: connection
            )
            guard let encounterID else {
                throw StoreError(.conflict, "external id was taken by a concurrent intake; retry")
            }
            try await AuditEntry(
                "encounter.received", by: audit, encounter: "\(encounterID)", practice: "\(intake.practiceID)",
                to: "\(Stage.received.rawValue)"
            ).write(on: connection, logger: logger)
            try await queue.enqueue(
                encounterID: encounterID,
                from: .received,
                to: .readyToCode,
                audit: audit,
                on: connection
            )
            return Received(encounterID: encounterID, created: true)
        }
    }

    /// Whether the encounter exists in one of `practiceIDs`. Everything outside a user's
    /// practices answers as if it did not exist (404), not as forbidden.
    public func isVisible(_ encounterID: UUID, to practiceIDs: Set<UUID>) async throws -> Bool {
        let rows = try await client.query(
            "SELECT 1 FROM encounters WHERE id = \(encounterID) AND practice_id = ANY (\(Array(practiceIDs)))",
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    /// The encounter's audit trail, oldest first, when it is in one of `practiceIDs`.
    public func history(of encounterID: UUID, practiceIDs: Set<UUID>, audit: AuditContext) async throws -> [AuditEvent]? {
        guard try await isVisible(encounterID, to: practiceIDs) else { return nil }
        let rows = try await client.query(
            """
            SELECT ev.id, ev.occurred_at, ev.action, ev.actor_id, u.username, ev.from_stage, ev.to_stage, ev.lease_id,
                   ev.client_address, ev.request_id, ev.detail::text
            FROM events ev LEFT JOIN users u ON u.id = ev.actor_id
            WHERE ev.encounter_id = \(encounterID)
            ORDER BY ev.id
            """,
            logger: logger
        )
        var events: [AuditEvent] = []
        for try await row in rows.decode(
            (Int64, Date, String, UUID?, String?, String?, String?, UUID?, String?, String?, String).self
        ) {
            events.append(
                AuditEvent(
                    id: row.0, occurredAt: row.1, action: row.2, actorID: row.3, actorUsername: row.4, fromStage: row.5,
                    toStage: row.6, leaseID: row.7, clientAddress: row.8, requestID: row.9, detail: row.10
                )
            )
        }
        return events
    }

    /// Locks up to `limit` coded encounters for the handoff check, oldest first, skipping
    /// those another worker holds (SKIP LOCKED), for the rest of the caller's transaction.
    public func lockCodedForHandoff(limit: Int, on connection: PostgresConnection) async throws -> [UUID] {
        let rows = try await connection.query(
            """
            SELECT id FROM encounters WHERE stage = 'coded'
            ORDER BY updated_at, id
            LIMIT \(limit)
            FOR UPDATE SKIP LOCKED
            """,
            logger: logger
        )
        var ids: [UUID] = []
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        return ids
    }

    /// How many encounters the practice has, in any stage.
    public func count(inPractice practiceID: UUID) async throws -> Int {
        try await database.count("SELECT count(*)::int FROM encounters WHERE practice_id = \(practiceID)")
    }

    /// The encounter's current stage, or nil when there is no such encounter.
    public func stage(of encounterID: UUID, on connection: PostgresConnection? = nil) async throws -> Stage? {
        try await database.first(String.self, "SELECT stage FROM encounters WHERE id = \(encounterID)", on: connection)
            .flatMap(Stage.init)
    }

    /// Moves an encounter that is not in any queue from one stage to another (for example the
    /// payer's answers moving a submitted claim), checked against ``StageTransitions``.
    public func move(
        _ encounterID: UUID,
        from: Stage,
        to: Stage,
        action: String,
        audit: AuditContext,
        on connection: PostgresConnection? = nil
    ) async throws {
        try await database.withConnection(connection) { connection in
            try await queue.moveStage(encounterID, from: from, to: to, action: action, audit: audit, on: connection)
        }
        database.metrics.transition(from: from, to: to)
    }

    private func upsertPatient(_ intake: EncounterIntake, on connection: PostgresConnection) async throws -> UUID {
        let person = intake.patient
        let rows = try await connection.query(
            """
            INSERT INTO patients (practice_id, mrn, first_name, last_name, birth_date, sex,
                                  address_line1, city, state, postal_code)
            VALUES (\(intake.practiceID), \(intake.patientMRN), \(person.firstName), \(person.lastName),
                    \(person.birthDate.description)::date, \(person.sex.rawValue), \(person.address?.line1),
                    \(person.address?.city), \(person.address?.state), \(person.address?.postalCode))
            ON CONFLICT (practice_id, mrn) DO UPDATE
            SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, birth_date = EXCLUDED.birth_date,
                sex = EXCLUDED.sex, address_line1 = EXCLUDED.address_line1, city = EXCLUDED.city,
                state = EXCLUDED.state, postal_code = EXCLUDED.postal_code
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        throw StoreError(.conflict, "patient was not saved")
    }

    private func upsertSubscriber(_ intake: EncounterIntake, on connection: PostgresConnection) async throws -> UUID {
        let coverage = intake.coverage
        let person = coverage.subscriber
        let rows = try await connection.query(
            """
            INSERT INTO subscribers (practice_id, payer_id, member_id, group_number, first_name, last_name,
                                     birth_date, sex, address_line1, city, state, postal_code)
            VALUES (\(intake.practiceID), \(coverage.payerID), \(coverage.memberID), \(coverage.groupNumber),
                    \(person.firstName), \(person.lastName), \(person.birthDate.description)::date,
                    \(person.sex.rawValue), \(person.address?.line1), \(person.address?.city),
                    \(person.address?.state), \(person.address?.postalCode))
            ON CONFLICT (practice_id, payer_id, member_id) DO UPDATE
            SET group_number = EXCLUDED.group_number, first_name = EXCLUDED.first_name,
                last_name = EXCLUDED.last_name, birth_date = EXCLUDED.birth_date, sex = EXCLUDED.sex,
                address_line1 = EXCLUDED.address_line1, city = EXCLUDED.city, state = EXCLUDED.state,
                postal_code = EXCLUDED.postal_code
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        throw StoreError(.conflict, "subscriber was not saved")
    }

    /// SHA-256 of the intake's canonical JSON (sorted keys), to tell a replay from an edit.
    static func digest(of intake: EncounterIntake) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Data(SHA256.hash(data: try encoder.encode(intake)))
    }
}

/// One entry of an encounter's audit trail.
///
/// Lives beside the query that reads the trail: only
/// ``EncounterStore/history(of:practiceIDs:audit:)`` makes one, so the memberwise initialiser
/// Swift writes serves; callers only read it.
public struct AuditEvent: Sendable, Hashable, Codable {
    public var id: Int64
    public var occurredAt: Date
    public var action: String
    /// The acting user's id and name; nil when ClaimFlow itself acted.
    public var actorID: UUID?
    public var actorUsername: String?
    public var fromStage: String?
    public var toStage: String?
    public var leaseID: UUID?
    public var clientAddress: String?
    public var requestID: String?
    public var detail: String
}
