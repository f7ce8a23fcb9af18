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
    /// An intake that loses the race for its external id to a concurrent one is rolled back
    /// and runs again, when it finds the winner's encounter and compares digests like a replay.
    public func receive(_ intake: EncounterIntake, audit: AuditContext) async throws -> Received {
        let digest = try Self.digest(of: intake)
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await database.transaction { connection in
                    try await receive(intake, digest: digest, audit: audit, on: connection)
                }
            } catch is ExternalIDTakenMeanwhile where attempt < 3 {
                continue
            } catch is ExternalIDTakenMeanwhile {
                throw StoreError(.conflict, "external id was taken by a concurrent intake; retry")
            }
        }
    }

    private func receive(
        _ intake: EncounterIntake,
        digest: Data,
        audit: AuditContext,
        on connection: PostgresConnection
    ) async throws -> Received {
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
        // ON CONFLICT DO NOTHING: a concurrent intake of the same external id wins the race;
        // this one is rolled back (its patient and subscriber writes too) and runs again.
        let encounterID = try await database.first(
            UUID.self,
            """
            INSERT INTO encounters (practice_id, external_id, patient_id, subscriber_id, patient_relationship,
                                    payer_id, rendering_provider_id, date_of_service, place_of_service,
                                    specialty, priority, documentation, intake_digest, claim_details)
            VALUES (\(intake.practiceID), \(intake.externalID), \(patientID), \(subscriberID),
                    \(intake.coverage.relationship), \(intake.coverage.payerID), \(intake.renderingProviderID),
                    \(intake.dateOfService.description)::date, \(intake.placeOfService), \(intake.specialty),
                    \(intake.priority), \(intake.documentation), \(digest), \(try Self.detailsJSON(intake))::jsonb)
            ON CONFLICT (practice_id, external_id) DO NOTHING
            RETURNING id
            """,
            on: connection
        )
        guard let encounterID else { throw ExternalIDTakenMeanwhile() }
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

    /// The claim details as the `claim_details` column holds them (X12Claim.Details' keys), or nil.
    static func detailsJSON(_ intake: EncounterIntake) throws -> String? {
        guard let details = intake.claimDetails else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(details), as: UTF8.self)
    }

    /// SHA-256 of the intake's canonical JSON (sorted keys), to tell a replay from an edit.
    static func digest(of intake: EncounterIntake) throws -> Data {
        try digests(of: [intake])[0]
    }

    /// ``digest(of:)`` of each intake, with one encoder for them all.
    static func digests(of intakes: [EncounterIntake]) throws -> [Data] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try intakes.map { Data(SHA256.hash(data: try encoder.encode($0))) }
    }
}

// MARK: Intake in chunks

extension EncounterStore {
    /// What became of one intake of a batch: its encounter, or the refusal or failure that
    /// ``receive(_:audit:)`` would have thrown for it.
    public typealias IntakeResult = Result<Received, any Error>

    /// Intakes written per transaction by ``receive(batch:audit:chunkSize:)`` and by the NDJSON
    /// batch endpoint.
    ///
    /// Measured on PostgreSQL 15 (the chunk's write statement alone, per encounter): 100 a
    /// chunk 400 µs, 250 290 µs, 500 180 µs, 1,000 175 µs, 2,000 177 µs. Past 500 a chunk buys
    /// nothing, while it holds its row locks longer and costs more when it falls back to one
    /// intake at a time (see ``receive(chunk:audit:)``).
    public static let intakeChunkSize = 500

    /// Records a batch of encounters, ``intakeChunkSize`` intakes per transaction, each with
    /// the outcome ``receive(_:audit:)`` would have given it had the intakes arrived one after
    /// another in this order. Chunks already written stay written when a later one fails.
    public func receive(
        batch intakes: [EncounterIntake],
        audit: AuditContext,
        chunkSize: Int = EncounterStore.intakeChunkSize
    ) async throws -> [IntakeResult] {
        var results: [IntakeResult] = []
        results.reserveCapacity(intakes.count)
        var start = 0
        while start < intakes.count {
            let end = min(start + max(1, chunkSize), intakes.count)
            results += try await receive(chunk: Array(intakes[start..<end]), audit: audit)
            start = end
        }
        return results
    }

    /// Records a chunk of encounters in one transaction of two statements, with per-intake
    /// outcomes exactly as if each had been received alone, in order, by ``receive(_:audit:)``:
    /// an external id already taken (before the chunk or by an earlier intake of it) is a
    /// replay when the digests match and a `conflict` otherwise, and writes nothing; a patient
    /// or subscriber named twice ends with the later intake's details.
    ///
    /// A concurrent intake that takes one of the chunk's new external ids first (the insert's
    /// `ON CONFLICT DO NOTHING` waits for it to commit), a deadlock or a serialization failure
    /// rolls the chunk back and runs it again, when the lookup sees the other's rows. Any other
    /// failure rolls it back and receives its intakes one at a time, so each gets its own
    /// outcome and one bad intake does not cost the others.
    public func receive(chunk intakes: [EncounterIntake], audit: AuditContext) async throws -> [IntakeResult] {
        guard !intakes.isEmpty else { return [] }
        let digests = try Self.digests(of: intakes)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (results, created) = try await database.transaction { connection in
                    try await receiveChunk(intakes, digests: digests, audit: audit, on: connection)
                }
                database.metrics.transition(from: Stage.received.rawValue, to: Stage.readyToCode.rawValue, count: created)
                return results
            } catch is CancellationError {
                throw CancellationError()
            } catch  where attempt < 3 && Self.isWorthRetrying(error) {
                logger.debug(
                    "intake chunk runs again", metadata: ["attempt": "\(attempt)", "error": "\(logSafeDescription(of: error))"])
                continue
            } catch {
                logger.warning(
                    "intake chunk receives its encounters one at a time",
                    metadata: ["encounters": "\(intakes.count)", "error": "\(logSafeDescription(of: error))"]
                )
                break
            }
        }
        var results: [IntakeResult] = []
        results.reserveCapacity(intakes.count)
        for intake in intakes {
            do {
                results.append(.success(try await receive(intake, audit: audit)))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }

    /// The chunk's lookup and its one write statement, on the chunk's transaction. Returns the
    /// outcomes and how many encounters were created.
    private func receiveChunk(
        _ intakes: [EncounterIntake],
        digests: [Data],
        audit: AuditContext,
        on connection: PostgresConnection
    ) async throws -> ([IntakeResult], Int) {
        do {
            try StageTransitions.check(from: .received, to: .readyToCode)
        } catch {
            throw StoreError(.illegalTransition, error.description)
        }
        // The first intake of each external id decides for the later ones, as it would
        // one after another.
        var firstIndex: [IntakeKey: Int] = [:]
        var keys: [IntakeKey] = []
        for (index, intake) in intakes.enumerated() {
            let key = IntakeKey(intake)
            if firstIndex[key] == nil {
                firstIndex[key] = index
                keys.append(key)
            }
        }
        let existing = try await encounters(keyedBy: keys, on: connection)
        let creating = keys.filter { existing[$0] == nil }.compactMap { firstIndex[$0] }.sorted()
        let created = try await insertEncounters(
            IntakeColumns(creating.map { ($0, intakes[$0], digests[$0]) }), audit: audit, on: connection)
        guard created.count == creating.count else { throw ExternalIDTakenMeanwhile() }

        let results = intakes.indices.map { index -> IntakeResult in
            let key = IntakeKey(intakes[index])
            let stored: (id: UUID, digest: Data?)
            if let found = existing[key] {
                stored = found
            } else if let first = firstIndex[key], let id = created[first] {
                if first == index { return .success(Received(encounterID: id, created: true)) }
                stored = (id, digests[first])
            } else {
                return .failure(StoreError(.conflict, "external id was taken by a concurrent intake; retry"))
            }
            guard stored.digest == digests[index] else {
                return .failure(
                    StoreError(.conflict, "external id is already used by encounter \(stored.id) with different content"))
            }
            return .success(Received(encounterID: stored.id, created: false))
        }
        return (results, created.count)
    }

    /// The encounters already holding any of `keys`, with their intake digests.
    private func encounters(
        keyedBy keys: [IntakeKey],
        on connection: PostgresConnection
    ) async throws -> [IntakeKey: (id: UUID, digest: Data?)] {
        let rows = try await database.rows(
            """
            SELECT e.practice_id, e.external_id, e.id, e.intake_digest
            FROM unnest(\(keys.map(\.practiceID))::uuid[], \(keys.map(\.externalID))::text[]) AS k (practice_id, external_id)
            JOIN encounters e ON e.practice_id = k.practice_id AND e.external_id = k.external_id
            """,
            prepared: IntakeLookup.self, on: connection
        )
        var found: [IntakeKey: (id: UUID, digest: Data?)] = [:]
        for row in rows {
            let (practiceID, externalID, id, digest) = try row.decode((UUID, String, UUID, Data?).self)
            found[IntakeKey(practiceID: practiceID, externalID: externalID)] = (id, digest)
        }
        return found
    }

    /// Writes the new encounters of a chunk in one statement: their patients and subscribers
    /// (each once, with the details of its last intake in the chunk, as the intakes one after
    /// another would leave them), the encounters, their work items in the coding queue, and
    /// their `encounter.received` and `work.enqueued` events. Returns the id of each encounter
    /// written, by the intake's index in the chunk; one missing was taken meanwhile.
    ///
    /// The rows and events are those ``receive(_:audit:)`` writes through
    /// ``WorkQueue/enqueue(encounterID:from:to:priority:offeredTo:offerFor:audit:action:detail:on:)``:
    /// the encounter is inserted in `ready_to_code` (a writable CTE cannot update a row its own
    /// statement inserted; the stage trigger guards updates only) with the same two events,
    /// each encounter's in that order, and its work item as the queue makes it, the charges 0
    /// since a new encounter has no service lines. Work items and events follow the chunk's
    /// order, so pull order matches intake order. Upserts and inserts go in key order, so two
    /// chunks that share patients or external ids lock them in the same order.
    private func insertEncounters(
        _ columns: IntakeColumns,
        audit: AuditContext,
        on connection: PostgresConnection
    ) async throws -> [Int: UUID] {
        guard !columns.index.isEmpty else { return [:] }
        let logged = AuditEntry(
            action: "step.action", by: audit, encounter: "c.id", practice: "c.practice_id", from: "step.from_stage",
            to: "step.to_stage",
            rows: """
                FROM created c
                CROSS JOIN (VALUES (1, \("encounter.received"), NULL::text, \(Stage.received.rawValue)),
                                   (2, \("work.enqueued"), \(Stage.received.rawValue), \(Stage.readyToCode.rawValue)))
                    AS step (n, action, from_stage, to_stage)
                ORDER BY c.chunk_index, step.n
                """
        )
        let rows = try await database.rows(
            """
            WITH intake AS (
                SELECT * FROM unnest(
                    \(columns.index)::int8[], \(columns.practiceID)::uuid[], \(columns.externalID)::text[],
                    \(columns.mrn)::text[], \(columns.patient.firstName)::text[], \(columns.patient.lastName)::text[],
                    \(columns.patient.birthDate)::date[], \(columns.patient.sex)::text[], \(columns.patient.addressLine1),
                    \(columns.patient.city), \(columns.patient.state), \(columns.patient.postalCode),
                    \(columns.payerID)::uuid[], \(columns.memberID)::text[], \(columns.groupNumber),
                    \(columns.subscriber.firstName)::text[], \(columns.subscriber.lastName)::text[],
                    \(columns.subscriber.birthDate)::date[], \(columns.subscriber.sex)::text[],
                    \(columns.subscriber.addressLine1), \(columns.subscriber.city), \(columns.subscriber.state),
                    \(columns.subscriber.postalCode), \(columns.relationship)::text[], \(columns.providerID)::uuid[],
                    \(columns.dateOfService)::date[], \(columns.placeOfService)::text[], \(columns.specialty)::text[],
                    \(columns.priority)::int8[], \(columns.documentation)::text[], \(columns.digest)::bytea[],
                    \(columns.claimDetails)
                ) AS i (chunk_index, practice_id, external_id,
                        mrn, patient_first_name, patient_last_name,
                        patient_birth_date, patient_sex, patient_address_line1,
                        patient_city, patient_state, patient_postal_code,
                        payer_id, member_id, group_number,
                        subscriber_first_name, subscriber_last_name,
                        subscriber_birth_date, subscriber_sex,
                        subscriber_address_line1, subscriber_city, subscriber_state,
                        subscriber_postal_code, relationship, rendering_provider_id,
                        date_of_service, place_of_service, specialty,
                        priority, documentation, intake_digest, claim_details)
            ), patients_saved AS (
                -- ON CONFLICT DO UPDATE may touch a row once per statement: one row per patient.
                INSERT INTO patients (practice_id, mrn, first_name, last_name, birth_date, sex,
                                      address_line1, city, state, postal_code)
                SELECT DISTINCT ON (practice_id, mrn)
                       practice_id, mrn, patient_first_name, patient_last_name, patient_birth_date, patient_sex,
                       patient_address_line1, patient_city, patient_state, patient_postal_code
                FROM intake
                ORDER BY practice_id, mrn, chunk_index DESC
                ON CONFLICT (practice_id, mrn) DO UPDATE
                SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, birth_date = EXCLUDED.birth_date,
                    sex = EXCLUDED.sex, address_line1 = EXCLUDED.address_line1, city = EXCLUDED.city,
                    state = EXCLUDED.state, postal_code = EXCLUDED.postal_code
                RETURNING id, practice_id, mrn
            ), subscribers_saved AS (
                INSERT INTO subscribers (practice_id, payer_id, member_id, group_number, first_name, last_name,
                                         birth_date, sex, address_line1, city, state, postal_code)
                SELECT DISTINCT ON (practice_id, payer_id, member_id)
                       practice_id, payer_id, member_id, group_number, subscriber_first_name, subscriber_last_name,
                       subscriber_birth_date, subscriber_sex, subscriber_address_line1, subscriber_city,
                       subscriber_state, subscriber_postal_code
                FROM intake
                ORDER BY practice_id, payer_id, member_id, chunk_index DESC
                ON CONFLICT (practice_id, payer_id, member_id) DO UPDATE
                SET group_number = EXCLUDED.group_number, first_name = EXCLUDED.first_name,
                    last_name = EXCLUDED.last_name, birth_date = EXCLUDED.birth_date, sex = EXCLUDED.sex,
                    address_line1 = EXCLUDED.address_line1, city = EXCLUDED.city, state = EXCLUDED.state,
                    postal_code = EXCLUDED.postal_code
                RETURNING id, practice_id, payer_id, member_id
            ), inserted AS (
                -- ON CONFLICT DO NOTHING: a concurrent intake of the same external id wins the
                -- race, and the caller runs the chunk again to compare digests like a replay.
                INSERT INTO encounters (practice_id, external_id, patient_id, subscriber_id, patient_relationship,
                                        payer_id, rendering_provider_id, date_of_service, place_of_service,
                                        specialty, priority, stage, documentation, intake_digest, claim_details)
                SELECT i.practice_id, i.external_id, p.id, s.id, i.relationship, i.payer_id, i.rendering_provider_id,
                       i.date_of_service, i.place_of_service, i.specialty, i.priority,
                       \(Stage.readyToCode.rawValue), i.documentation, i.intake_digest, i.claim_details::jsonb
                FROM intake i
                JOIN patients_saved p ON p.practice_id = i.practice_id AND p.mrn = i.mrn
                JOIN subscribers_saved s
                  ON s.practice_id = i.practice_id AND s.payer_id = i.payer_id AND s.member_id = i.member_id
                ORDER BY i.practice_id, i.external_id
                ON CONFLICT (practice_id, external_id) DO NOTHING
                RETURNING id, practice_id, external_id, payer_id, specialty, priority, date_of_service
            ), created AS (
                SELECT i.chunk_index, e.id, e.practice_id, e.payer_id, e.specialty, e.priority, e.date_of_service
                FROM inserted e JOIN intake i ON i.practice_id = e.practice_id AND i.external_id = e.external_id
            ), queued AS (
                INSERT INTO work_items (encounter_id, queue, practice_id, required_skill, priority, waiting_stage,
                                        date_of_service, filing_deadline, charges)
                SELECT c.id, \(WorkQueueName.coding.rawValue), c.practice_id, c.specialty, c.priority,
                       \(Stage.readyToCode.rawValue), c.date_of_service, c.date_of_service + p.filing_limit_days, 0
                FROM created c LEFT JOIN payers p ON p.id = c.payer_id
                ORDER BY c.chunk_index
            ), logged AS (
                \(logged)
            )
            SELECT chunk_index, id FROM created
            """,
            prepared: IntakeChunk.self, on: connection
        )
        var created: [Int: UUID] = [:]
        for row in rows {
            let (index, id) = try row.decode((Int, UUID).self)
            created[index] = id
        }
        return created
    }

    /// Whether a chunk that failed with `error` is worth running again as a chunk: it lost a
    /// race for an external id, or PostgreSQL chose it as a deadlock's or a serialization
    /// failure's victim.
    static func isWorthRetrying(_ error: any Error) -> Bool {
        if error is ExternalIDTakenMeanwhile { return true }
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }
}

/// The chunked intake's statements, prepared (see ``PreparedName``): each is parsed and
/// planned once per connection rather than once per chunk.
enum IntakeLookup: PreparedName {}
enum IntakeChunk: PreparedName {}

/// A new encounter's external id was taken by a concurrent intake between the lookup and the
/// insert: the transaction is rolled back and runs again.
private struct ExternalIDTakenMeanwhile: Error {}

/// An encounter's identity within ClaimFlow: its practice and external id, the id compared
/// byte by byte as PostgreSQL compares text (Swift's `==` would also equate canonically
/// equivalent spellings, which the unique index keeps apart).
private struct IntakeKey: Hashable {
    let practiceID: UUID
    let bytes: [UInt8]

    var externalID: String { String(decoding: bytes, as: UTF8.self) }

    init(practiceID: UUID, externalID: String) {
        self.practiceID = practiceID
        bytes = Array(externalID.utf8)
    }

    init(_ intake: EncounterIntake) {
        self.init(practiceID: intake.practiceID, externalID: intake.externalID)
    }
}

/// A chunk's new intakes as one array per column, for `unnest`: one bind per column instead of
/// one per value, so the statement's text and parameter count do not grow with the chunk.
private struct IntakeColumns {
    /// A person's columns (the patient's, or the subscriber's).
    struct People {
        var firstName: [String] = []
        var lastName: [String] = []
        var birthDate: [String] = []
        var sex: [String] = []
        var addressLine1 = NullableTextArray()
        var city = NullableTextArray()
        var state = NullableTextArray()
        var postalCode = NullableTextArray()

        mutating func append(_ person: Person) {
            firstName.append(person.firstName)
            lastName.append(person.lastName)
            birthDate.append(person.birthDate.description)
            sex.append(person.sex.rawValue)
            addressLine1.values.append(person.address?.line1)
            city.values.append(person.address?.city)
            state.values.append(person.address?.state)
            postalCode.values.append(person.address?.postalCode)
        }
    }

    var index: [Int] = []
    var practiceID: [UUID] = []
    var externalID: [String] = []
    var mrn: [String] = []
    var patient = People()
    var payerID: [UUID] = []
    var memberID: [String] = []
    var groupNumber = NullableTextArray()
    var subscriber = People()
    var relationship: [String] = []
    var providerID: [UUID] = []
    var dateOfService: [String] = []
    var placeOfService: [String] = []
    var specialty: [String] = []
    var priority: [Int] = []
    var documentation: [String] = []
    var digest: [ByteBuffer] = []
    var claimDetails = NullableTextArray()

    init(_ intakes: [(index: Int, intake: EncounterIntake, digest: Data)]) throws {
        for (position, intake, digest) in intakes {
            index.append(position)
            practiceID.append(intake.practiceID)
            externalID.append(intake.externalID)
            mrn.append(intake.patientMRN)
            patient.append(intake.patient)
            payerID.append(intake.coverage.payerID)
            memberID.append(intake.coverage.memberID)
            groupNumber.values.append(intake.coverage.groupNumber)
            subscriber.append(intake.coverage.subscriber)
            relationship.append(intake.coverage.relationship)
            providerID.append(intake.renderingProviderID)
            dateOfService.append(intake.dateOfService.description)
            placeOfService.append(intake.placeOfService)
            specialty.append(intake.specialty)
            priority.append(intake.priority)
            documentation.append(intake.documentation)
            self.digest.append(ByteBuffer(bytes: digest))
            claimDetails.values.append(try EncounterStore.detailsJSON(intake))
        }
    }
}

/// A `text[]` whose elements may be NULL: PostgresNIO's arrays carry no NULL elements.
/// Written in PostgreSQL's binary array format, where a NULL element has length -1.
struct NullableTextArray: PostgresNonThrowingEncodable {
    var values: [String?] = []

    static var psqlType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // Dimensions, whether any element is NULL, the element type.
        buffer.writeInteger(values.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(values.contains(nil) ? 1 : 0, as: Int32.self)
        buffer.writeInteger(PostgresDataType.text.rawValue)
        guard !values.isEmpty else { return }
        // The one dimension's length and lower bound.
        buffer.writeInteger(Int32(values.count))
        buffer.writeInteger(1, as: Int32.self)
        for value in values {
            guard let value else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            buffer.writeInteger(Int32(value.utf8.count))
            buffer.writeString(value)
        }
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
