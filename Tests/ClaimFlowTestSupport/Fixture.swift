public import ClaimFlowCore
public import ClaimFlowStore
public import Foundation
import Logging
public import PostgresNIO

/// A practice with a payer and a provider, and helpers to add users and encounters to it.
public struct Fixture: Sendable {
    public let client: PostgresClient
    public let practiceID: UUID
    public let payerID: UUID
    public let providerID: UUID
    public let queue: WorkQueue
    public let encounters: EncounterStore
    public let users: UserStore

    /// Creates the practice `code` (with its payer and provider) in the test database.
    public static func make(
        _ client: PostgresClient,
        code: String = "TEST",
        leaseDuration: Duration = .seconds(900)
    ) async throws -> Fixture {
        let logger = TestDatabase.logger
        let practices = PracticeStore(client: client, logger: logger)
        let practiceID = try await practices.upsert(
            Practice(
                code: code, name: "Practice \(code)", npi: "1234567893", taxID: "123456789",
                taxonomy: "207Q00000X",
                address: PostalAddress(line1: "1 Test Way", city: "Testville", state: "IL", postalCode: "627011234")
            ),
            audit: .system
        )
        // Plain SQL rather than PracticeStore: migration tests make the fixture on schemas from
        // before payer profiles (sql/0006), whose columns the store's save names.
        let payerRows = try await client.query(
            """
            INSERT INTO payers (payer_code, name) VALUES (\("PAY\(code)"), \("Payer \(code)"))
            ON CONFLICT (payer_code) DO UPDATE SET name = EXCLUDED.name
            RETURNING id
            """,
            logger: logger
        )
        var payerID: UUID?
        for try await id in payerRows.decode(UUID.self) { payerID = id }
        guard let payerID else { throw TestSetupError("payer PAY\(code) was not saved") }
        let providerID = try await practices.upsert(
            Provider(practiceID: practiceID, npi: "1234567893", firstName: "Pat", lastName: "Provider"),
            audit: .system
        )
        let queue = WorkQueue(client: client, logger: logger, leaseDuration: leaseDuration)
        return Fixture(
            client: client,
            practiceID: practiceID,
            payerID: payerID,
            providerID: providerID,
            queue: queue,
            encounters: EncounterStore(client: client, logger: logger, queue: queue),
            users: UserStore(client: client, logger: logger)
        )
    }

    /// A queue over the same database with another lease length.
    public func queue(leaseDuration: Duration) -> WorkQueue {
        WorkQueue(client: client, logger: TestDatabase.logger, leaseDuration: leaseDuration)
    }

    /// Adds a user in this practice (and any `extraPractices`).
    public func user(
        _ username: String,
        roles: Set<Role> = [.coder],
        skills: Set<String> = ["family_medicine"],
        extraPractices: Set<UUID> = [],
        active: Bool = true
    ) async throws -> UUID {
        try await users.upsert(
            User(
                username: username, displayName: username, roles: roles,
                practiceIDs: extraPractices.union([practiceID]), skills: skills, active: active
            ),
            audit: .system
        )
    }

    /// An intake for this practice.
    public func intake(
        _ externalID: String,
        specialty: String = "family_medicine",
        priority: Int = 0,
        documentation: String = "Follow-up visit.",
        patient: Person? = nil,
        subscriber: Person? = nil
    ) -> EncounterIntake {
        let patient =
            patient
            ?? Person(
                firstName: "Test", lastName: "Patient", birthDate: CalendarDate("1980-02-29")!, sex: .female,
                address: PostalAddress(line1: "12 Elm Street", city: "Springfield", state: "IL", postalCode: "62704")
            )
        return EncounterIntake(
            practiceID: practiceID,
            externalID: externalID,
            patientMRN: "MRN-\(externalID)",
            patient: patient,
            coverage: Coverage(
                payerID: payerID, memberID: "MEM\(externalID)", subscriber: subscriber ?? patient,
                relationship: subscriber == nil ? "18" : "19"
            ),
            renderingProviderID: providerID,
            dateOfService: CalendarDate("2026-11-02")!,
            placeOfService: "11",
            specialty: specialty,
            priority: priority,
            documentation: documentation
        )
    }

    /// Receives one encounter through the real intake path and returns its id.
    @discardableResult
    public func receive(
        _ externalID: String,
        specialty: String = "family_medicine",
        priority: Int = 0
    ) async throws -> UUID {
        try await encounters.receive(intake(externalID, specialty: specialty, priority: priority), audit: .system)
            .encounterID
    }

    /// Receives `count` encounters in one transaction of bulk SQL: the same rows, events and
    /// work items as intake writes, fast enough for thousands. Returns their ids.
    public func receiveMany(_ count: Int, prefix: String = "BULK", specialty: String = "family_medicine") async throws -> [UUID] {
        try await client.transaction(logger: TestDatabase.logger) { connection in
            try await connection.query(
                """
                INSERT INTO patients (practice_id, mrn, first_name, last_name, birth_date, sex)
                VALUES (\(practiceID), \(prefix + "-PATIENT"), 'Bulk', 'Patient', '1970-01-01', 'U')
                ON CONFLICT DO NOTHING
                """,
                logger: TestDatabase.logger
            )
            let rows = try await connection.query(
                """
                WITH patient AS (
                    SELECT id FROM patients WHERE practice_id = \(practiceID) AND mrn = \(prefix + "-PATIENT")
                ), inserted AS (
                    INSERT INTO encounters (practice_id, external_id, patient_id, payer_id, rendering_provider_id,
                                            date_of_service, place_of_service, specialty, stage, documentation)
                    SELECT \(practiceID), \(prefix) || '-' || n, patient.id, \(payerID), \(providerID),
                           '2026-11-02', '11', \(specialty), 'ready_to_code', 'Bulk visit.'
                    FROM generate_series(1, \(count)) AS n, patient
                    RETURNING id, practice_id, specialty, date_of_service
                ), queued AS (
                    INSERT INTO work_items (encounter_id, queue, practice_id, required_skill, waiting_stage,
                                            date_of_service, filing_deadline)
                    SELECT id, 'coding', practice_id, specialty, 'ready_to_code', date_of_service, date_of_service + 365
                    FROM inserted
                ), logged AS (
                    INSERT INTO events (encounter_id, practice_id, action, from_stage, to_stage)
                    SELECT id, practice_id, 'work.enqueued', 'received', 'ready_to_code' FROM inserted
                )
                SELECT id FROM inserted
                """,
                logger: TestDatabase.logger
            )
            var ids: [UUID] = []
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            return ids
        }
    }

    /// The codes the claim helpers use unless told otherwise: one billable diagnosis, one line.
    public static let standardCodes = CodeAssignment(
        diagnoses: ["E119"], lines: [ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1])]
    )

    /// An encounter taken through the real paths to `coded`: intake, a coder's lease, codes and
    /// completion. Returns the encounter id. (The lease is assigned, as a supervisor would, so
    /// other waiting work does not get in the way.)
    public func codedEncounter(
        _ externalID: String,
        coder: UUID,
        codes: CodeAssignment = Fixture.standardCodes,
        patient: Person? = nil,
        subscriber: Person? = nil
    ) async throws -> UUID {
        let id = try await encounters.receive(
            intake(externalID, priority: 100, patient: patient, subscriber: subscriber), audit: .system
        ).encounterID
        // A supervisor's assignment rather than pull-next: other work may be waiting.
        let lease = try await queue.reassign(encounterID: id, to: coder, reason: "test", audit: .system)
        let coding = CodingStore(client: client, logger: TestDatabase.logger, queue: queue)
        try await coding.saveDraft(encounterID: id, leaseID: lease.id, holder: coder, codes: codes, audit: .system)
        try await queue.finish(
            encounterID: id, leaseID: lease.id, holder: coder, queue: .coding, to: .coded, action: "coding.completed",
            audit: .system
        )
        return id
    }

    /// A claim taken through the real paths: intake, a coder's lease, codes, completion, the
    /// handoff, a biller's lease and submission. Returns the claim id. (The leases are
    /// assigned, as a supervisor would, so other waiting work does not get in the way.)
    public func submittedClaim(
        _ externalID: String,
        coder: UUID,
        biller: UUID,
        codes: CodeAssignment = Fixture.standardCodes,
        patient: Person? = nil,
        subscriber: Person? = nil
    ) async throws -> UUID {
        let id = try await codedEncounter(externalID, coder: coder, codes: codes, patient: patient, subscriber: subscriber)
        let claims = ClaimStore(client: client, logger: TestDatabase.logger, queue: queue)
        let claimID = try await claims.handOff(encounterID: id, audit: .system)
        let billing = try await queue.reassign(encounterID: id, to: biller, reason: "test", audit: .system)
        try await claims.submit(claimID: claimID, leaseID: billing.id, holder: biller, practiceIDs: [practiceID], audit: .system)
        return claimID
    }

    /// Records the next 837P interchange of the outbox (what the batcher does before it writes
    /// the file), so the payer's answers can find its claims. Nil when the outbox is empty.
    @discardableResult
    public func recordInterchange(
        limit: Int = 100, settings: X12Settings = X12Settings()
    ) async throws
        -> SubmissionStore.Interchange?
    {
        try await SubmissionStore(client: client, logger: TestDatabase.logger, queue: queue)
            .recordNextInterchange(limit: limit, settings: settings)
    }

    /// Applies a payer's answer file (999, 277CA, TA1 or 835) as the answers endpoints do, for
    /// this practice: what happened to each claim that was found (an 835's exceptions are left
    /// out; `postRemittance` has them).
    @discardableResult
    public func applyAnswer(_ text: String) async throws -> [AnswerStore.Outcome] {
        let file = try X12AnswerParser.read(text)
        guard case .remittance = file.answer else {
            return try await AnswerStore(client: client, logger: TestDatabase.logger, queue: queue)
                .apply(file, text: text, practiceIDs: [practiceID], audit: .system).outcomes
        }
        return try await postRemittance(text).claims.compactMap { claim in
            guard let claimID = claim.claimID, let encounterID = claim.encounterID else { return nil }
            return AnswerStore.Outcome(
                claimID: claimID, encounterID: encounterID, outcome: claim.outcome, routedTo: claim.routedTo, changed: claim.changed)
        }
    }

    /// Posts an 835 as `POST /remittances` does, for this practice.
    @discardableResult
    public func postRemittance(_ text: String) async throws -> RemittanceStore.Posting {
        guard case .remittance(let payments) = try X12AnswerParser.read(text).answer else {
            throw TestSetupError("not an 835")
        }
        return try await RemittanceStore(client: client, logger: TestDatabase.logger, queue: queue)
            .post(payments, fileText: text, practiceIDs: [practiceID], audit: .system)
    }

    /// The replacement of a submitted claim, made the way ClaimFlow makes one: the claim goes
    /// out in an interchange, the payer's 835 denies it with CO-16 (a reason billing corrects),
    /// which puts a frequency-7 claim version in billing carrying the payer's claim number
    /// (`PAYER<remittanceControl>0`); a biller's lease and submission follow. Returns the new
    /// claim version's id.
    public func replacementClaim(of claimID: UUID, biller: UUID, remittanceControl: Int = 903) async throws -> UUID {
        let batched = try await count("SELECT count(*)::int FROM interchange_claims WHERE claim_id = \(claimID)")
        if batched == 0 { try await recordInterchange() }
        let pcn = X12Claim.patientControlNumber(for: claimID)
        let outcomes = try await applyAnswer(X12AnswerFiles.remittance([(pcn, 0, "16")], control: remittanceControl))
        guard outcomes.map(\.routedTo) == ["billing"] else {
            throw TestSetupError("the denial was not routed to billing: \(outcomes)")
        }
        let rows = try await client.query(
            "SELECT id, encounter_id FROM claims WHERE replaces_claim_id = \(claimID) AND status = 'ready'",
            logger: TestDatabase.logger
        )
        for try await (replacement, encounterID) in rows.decode((UUID, UUID).self) {
            let lease = try await queue.reassign(encounterID: encounterID, to: biller, reason: "test", audit: .system)
            try await ClaimStore(client: client, logger: TestDatabase.logger, queue: queue).submit(
                claimID: replacement, leaseID: lease.id, holder: biller, practiceIDs: [practiceID], audit: .system
            )
            return replacement
        }
        throw TestSetupError("the denial made no replacement of claim \(claimID)")
    }

    /// Runs a query that returns one integer (a count, usually).
    public func count(_ query: PostgresQuery) async throws -> Int {
        let rows = try await client.query(query, logger: TestDatabase.logger)
        for try await value in rows.decode(Int.self) { return value }
        return 0
    }
}
