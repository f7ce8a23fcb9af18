import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

/// A claim version is an immutable snapshot taken at handoff: nothing that changes the live
/// rows afterwards changes its 837P or the biller's view of it.
@Suite("Claim versions are immutable snapshots")
struct ClaimSnapshotTests {
    static let before = Person(
        firstName: "Grace", lastName: "Hopper", birthDate: CalendarDate("2012-12-09")!, sex: .female,
        address: PostalAddress(line1: "7 Harbor Road", city: "Arlington", state: "VA", postalCode: "22201")
    )
    static let beforeSubscriber = Person(
        firstName: "Walter", lastName: "Hopper", birthDate: CalendarDate("1980-01-15")!, sex: .male,
        address: PostalAddress(line1: "7 Harbor Road", city: "Arlington", state: "VA", postalCode: "22201")
    )
    static let after = Person(
        firstName: "Gracie", lastName: "Murray", birthDate: CalendarDate("2012-12-09")!, sex: .female,
        address: PostalAddress(line1: "90 New Street", city: "Baltimore", state: "MD", postalCode: "21201")
    )
    static let afterSubscriber = Person(
        firstName: "Wally", lastName: "Murray", birthDate: CalendarDate("1980-01-15")!, sex: .male,
        address: PostalAddress(line1: "90 New Street", city: "Baltimore", state: "MD", postalCode: "21201")
    )

    struct Scene {
        let fixture: Fixture
        let coder: UUID
        let biller: UUID
        var claims: ClaimStore { ClaimStore(client: fixture.client, logger: TestDatabase.logger, queue: fixture.queue) }
        var submissions: SubmissionStore {
            SubmissionStore(client: fixture.client, logger: TestDatabase.logger, queue: fixture.queue)
        }

        static func make(_ client: PostgresClient) async throws -> Scene {
            let fixture = try await Fixture.make(client)
            return Scene(
                fixture: fixture, coder: try await fixture.user("coder"), biller: try await fixture.user("biller", roles: [.biller])
            )
        }

        /// A submitted claim for a child patient on a parent's coverage, batched into an
        /// interchange so its 837P has fixed control numbers and time.
        func batchedClaim(_ externalID: String) async throws -> UUID {
            let claimID = try await fixture.submittedClaim(
                externalID, coder: coder, biller: biller, patient: ClaimSnapshotTests.before,
                subscriber: ClaimSnapshotTests.beforeSubscriber
            )
            let interchange = try await submissions.recordNextInterchange(limit: 10, settings: X12Settings())
            #expect(interchange?.claimIDs == [claimID])
            return claimID
        }

        /// A later intake of `externalID`'s patient (same MRN) and coverage (same member id),
        /// with new names and addresses: intake updates the shared patient and subscriber rows.
        @discardableResult
        func laterIntake(of externalID: String, as newExternalID: String) async throws -> UUID {
            var intake = fixture.intake(
                newExternalID, priority: 100, patient: ClaimSnapshotTests.after, subscriber: ClaimSnapshotTests.afterSubscriber
            )
            intake.patientMRN = "MRN-\(externalID)"
            intake.coverage.memberID = "MEM\(externalID)"
            let id = try await fixture.encounters.receive(intake, audit: .system).encounterID
            // The live rows did change: otherwise the comparisons below would prove nothing.
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM patients WHERE mrn = \("MRN-\(externalID)") AND last_name = 'Murray'") == 1)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM subscribers WHERE member_id = \("MEM\(externalID)") AND first_name = 'Wally'") == 1)
            return id
        }

        /// Codes an encounter already received and hands it off; returns its new claim version.
        func codeAndHandOff(_ encounterID: UUID) async throws -> UUID {
            let lease = try await fixture.queue.reassign(encounterID: encounterID, to: coder, reason: "test", audit: .system)
            try await CodingStore(client: fixture.client, logger: TestDatabase.logger, queue: fixture.queue).saveDraft(
                encounterID: encounterID, leaseID: lease.id, holder: coder,
                codes: CodeAssignment(diagnoses: ["J069"], lines: [ServiceLine(code: "99214", units: 1, charge: 180, pointers: [1])]),
                audit: .system
            )
            try await fixture.queue.finish(
                encounterID: encounterID, leaseID: lease.id, holder: coder, queue: .coding, to: .coded,
                action: "coding.completed", audit: .system
            )
            return try await claims.handOff(encounterID: encounterID, audit: .system)
        }

        func x12(_ claimID: UUID) async throws -> String {
            try await submissions.x12(ofClaim: claimID, settings: X12Settings())
        }

        func view(_ claimID: UUID) async throws -> BillerClaimView {
            try #require(try await claims.billerView(claimID: claimID, practiceIDs: [fixture.practiceID], audit: .system))
        }
    }

    @Test("a later intake that renames and moves the patient and subscriber changes neither the 837P nor the biller's view")
    func laterIntakeChangesNoClaim() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client)
            let claimID = try await scene.batchedClaim("SNAP-1")
            let x12Before = try await scene.x12(claimID)
            let viewBefore = try await scene.view(claimID)
            #expect(x12Before.contains("NM1*QC*1*HOPPER*GRACE") && x12Before.contains("NM1*IL*1*HOPPER*WALTER"))
            #expect(x12Before.contains("N3*7 HARBOR ROAD"))

            let newEncounter = try await scene.laterIntake(of: "SNAP-1", as: "SNAP-1-LATER")

            #expect(try await scene.x12(claimID) == x12Before)
            #expect(try await scene.view(claimID) == viewBefore)
            // The submit-time check and the batcher read the same snapshot.
            #expect(try await scene.claims.x12Claim(claimID).patient == Self.before)
            #expect(try await scene.claims.x12Claim(claimID).subscriber == Self.beforeSubscriber)

            // A new encounter for the same patient is a new claim, with the new name and address.
            let newClaim = try await scene.codeAndHandOff(newEncounter)
            let newView = try await scene.view(newClaim)
            #expect(newView.patient.lastName == "Murray" && newView.patient.firstName == "Gracie")
            #expect(newView.subscriber.firstName == "Wally" && newView.subscriber.address?.city == "Baltimore")
            let newX12 = try await scene.x12(newClaim)
            #expect(newX12.contains("NM1*QC*1*MURRAY*GRACIE") && newX12.contains("N3*90 NEW STREET"), "\(newX12)")
            #expect(try await scene.x12(claimID) == x12Before)
        }
    }

    @Test("the database refuses any change to a snapshot, from the service's role and from the owner, by its trigger")
    func snapshotCannotChange() async throws {
        try await TestDatabase.withMigrated { client, url in
            let scene = try await Scene.make(client)
            let claimID = try await scene.batchedClaim("SNAP-2")
            let x12Before = try await scene.x12(claimID)
            @Sendable func refused(_ connection: PostgresClient) async {
                let error = await #expect(throws: PSQLError.self) {
                    try await connection.query(
                        """
                        UPDATE claims SET snapshot = jsonb_set(snapshot, '{patient,lastName}', '"Tampered"')
                        WHERE id = \(claimID)
                        """,
                        logger: TestDatabase.logger
                    )
                }
                #expect(error?.serverInfo?[.message]?.contains("never changes") == true, "\(String(reflecting: error))")
                #expect(error?.serverInfo?[.constraintName] == "claims_snapshot_immutable")
            }
            // The owner holds every privilege on the table: only the trigger stands in the way.
            await refused(client)
            try await TestDatabase.withClient(url, role: "claimflow_app") { service in await refused(service) }
            // Other columns of the claim still change as its life goes on.
            try await client.query("UPDATE claims SET status = 'accepted' WHERE id = \(claimID)", logger: TestDatabase.logger)
            #expect(try await scene.fixture.count("SELECT count(*)::int FROM claims WHERE snapshot::text LIKE '%Tampered%'") == 0)
            #expect(try await scene.x12(claimID) == x12Before)
        }
    }

    @Test("a denial routed to billing makes a replacement that carries the replaced snapshot, frequency 7 and REF*F8")
    func replacementCopiesSnapshot() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client)
            let claimID = try await scene.batchedClaim("SNAP-3")
            let original = try await scene.x12(claimID)
            // The live patient moves before the payer answers: a snapshot taken now would show it.
            try await scene.laterIntake(of: "SNAP-3", as: "SNAP-3-LATER")

            let pcn = X12Claim.patientControlNumber(for: claimID)
            let text = X12AnswerFiles.remittance([(pcn: pcn, paid: 0, denialReason: "16")])
            let outcomes = try await scene.fixture.applyAnswer(text)
            #expect(outcomes.map(\.routedTo) == ["billing"])

            let rows = try await client.query(
                """
                SELECT r.id, r.frequency_code, r.snapshot ->> 'frequencyCode', r.snapshot ->> 'replacedPayerClaimNumber',
                       (r.snapshot - 'frequencyCode' - 'replacedPayerClaimNumber')
                         = (o.snapshot - 'frequencyCode' - 'replacedPayerClaimNumber')
                FROM claims r JOIN claims o ON o.id = r.replaces_claim_id
                WHERE o.id = \(claimID)
                """,
                logger: TestDatabase.logger
            )
            var found: (UUID, String, String?, String?, Bool)?
            for try await row in rows.decode((UUID, String, String?, String?, Bool).self) { found = row }
            let (replacement, frequency, snapshotFrequency, payerNumber, sameContent) = try #require(found)
            #expect(frequency == "7" && snapshotFrequency == "7")
            #expect(payerNumber == "PAYER9030")
            #expect(sameContent, "the replacement carries the replaced version's snapshot")

            let x12 = try await scene.x12(replacement)
            #expect(x12.contains(":B:7*") && x12.contains("REF*F8*PAYER9030"), "\(x12)")
            #expect(x12.contains("NM1*QC*1*HOPPER*GRACE") && !x12.contains("MURRAY"), "\(x12)")
            let view = try await scene.view(replacement)
            #expect(view.frequencyCode == "7" && view.patient.lastName == "Hopper")
            #expect(try await scene.x12(claimID) == original)
        }
    }

    @Test("a claim billing returns to coding is kept as it was; its next handoff makes a new version from the live rows")
    func returnedClaimGetsNewVersion() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client)
            let encounterID = try await scene.fixture.receive("SNAP-4")
            let first = try await scene.codeAndHandOff(encounterID)
            let firstView = try await scene.view(first)
            let billing = try await scene.fixture.queue.reassign(
                encounterID: encounterID, to: scene.biller, reason: "test", audit: .system)
            try await scene.claims.returnToCoding(
                claimID: first, leaseID: billing.id, holder: scene.biller, reason: "wrong visit level",
                practiceIDs: [scene.fixture.practiceID], audit: .system
            )
            try await client.query(
                "UPDATE patients SET last_name = 'Renamed' WHERE mrn = 'MRN-SNAP-4'", logger: TestDatabase.logger)

            let second = try await scene.codeAndHandOff(encounterID)
            #expect(second != first)
            let secondView = try await scene.view(second)
            #expect(secondView.version == 2 && secondView.frequencyCode == "1")
            #expect(secondView.patient.lastName == "Renamed")
            var unchanged = try await scene.view(first)
            #expect(unchanged.status == "withdrawn")
            unchanged.status = firstView.status
            unchanged.stage = firstView.stage
            #expect(unchanged == firstView)
        }
    }

    @Test("migrating a database with claims from before snapshots takes their snapshots from the live rows")
    func backfill() async throws {
        let url = try await TestDatabase.create()
        do {
            try await Self.backfill(url)
            try await TestDatabase.drop(url)
        } catch {
            try? await TestDatabase.drop(url)
            throw error
        }
    }

    static func backfill(_ url: DatabaseURL) async throws {
        try await TestDatabase.withClient(url) { client in
            let migrator = Migrator(
                client: client, logger: TestDatabase.logger, migrations: Migration.all.filter { $0.version < 5 }
            )
            try await migrator.migrate()
            // The practice, its provider and a payer, and the encounter as intake wrote them
            // then, in the columns that schema had (today's stores write columns added since).
            struct Old {
                let practiceID: UUID
                let payerID: UUID
                let providerID: UUID
            }
            let references = try #require(
                try await client.query(
                    """
                    WITH practice AS (
                        INSERT INTO practices (code, name, npi, tax_id, taxonomy, address_line1, city, state, postal_code)
                        VALUES ('TEST', 'Practice TEST', '1234567893', '123456789', '207Q00000X', '100 Main St', 'Springfield', 'IL', '627011234')
                        RETURNING id
                    ), provider AS (
                        INSERT INTO providers (practice_id, npi, first_name, last_name)
                        SELECT id, '1234567893', 'Pat', 'Provider' FROM practice RETURNING id
                    ), payer AS (
                        INSERT INTO payers (payer_code, name) VALUES ('PAYTEST', 'Payer TEST') RETURNING id
                    )
                    SELECT practice.id, payer.id, provider.id FROM practice, payer, provider
                    """, logger: TestDatabase.logger
                ).collect().first?.decode((UUID, UUID, UUID).self))
            let fixture = Old(practiceID: references.0, payerID: references.1, providerID: references.2)
            let encounterID = try #require(
                try await client.query(
                    """
                    WITH patient AS (
                        INSERT INTO patients (practice_id, mrn, first_name, last_name, birth_date, sex, address_line1, city, state, postal_code)
                        VALUES (\(fixture.practiceID), 'MRN-OLD-1', 'Test', 'Patient', '1980-02-29', 'F', '12 Elm Street', 'Springfield', 'IL', '62704')
                        RETURNING id
                    ), subscriber AS (
                        INSERT INTO subscribers (practice_id, payer_id, member_id, first_name, last_name, birth_date, sex,
                                                 address_line1, city, state, postal_code)
                        VALUES (\(fixture.practiceID), \(fixture.payerID), 'M-OLD-1', 'Test', 'Patient', '1980-02-29', 'F',
                                '12 Elm Street', 'Springfield', 'IL', '62704')
                        RETURNING id
                    )
                    INSERT INTO encounters (practice_id, external_id, patient_id, subscriber_id, patient_relationship, payer_id,
                                            rendering_provider_id, date_of_service, place_of_service, specialty, documentation, stage)
                    SELECT \(fixture.practiceID), 'OLD-1', patient.id, subscriber.id, '18', \(fixture.payerID), \(fixture.providerID),
                           '2026-05-04', '11', 'family_medicine', 'Follow-up visit.', 'submitted'
                    FROM patient, subscriber
                    RETURNING id
                    """, logger: TestDatabase.logger
                ).collect().first?.decode(UUID.self))
            // Two versions as ClaimFlow wrote them before: an original the payer answered, and its
            // replacement, whose own payer number the 277CA has since written over the REF*F8 one.
            try await client.query(
                """
                WITH codes AS (
                    INSERT INTO diagnoses (encounter_id, version, position, code) VALUES (\(encounterID), 1, 1, 'E119')
                ), line AS (
                    INSERT INTO service_lines (encounter_id, version, line_number, code, units, charge, pointers)
                    VALUES (\(encounterID), 1, 1, '99213', 1, 125, '{1}')
                ), original AS (
                    INSERT INTO claims (id, encounter_id, version, coding_version, status, total_charge, payer_claim_number)
                    VALUES ('00000000-0000-0000-0000-000000000001', \(encounterID), 1, 1, 'denied', 125, 'ICN-ORIGINAL')
                )
                INSERT INTO claims (encounter_id, version, coding_version, frequency_code, replaces_claim_id, status,
                                    total_charge, payer_claim_number)
                VALUES (\(encounterID), 2, 1, '7', '00000000-0000-0000-0000-000000000001', 'accepted', 125, 'ICN-REPLACEMENT')
                """,
                logger: TestDatabase.logger
            )
            try await Migrator(client: client, logger: TestDatabase.logger).migrate()

            let unsnapshotted = try await client.query(
                "SELECT count(*)::int FROM claims WHERE snapshot IS NULL", logger: TestDatabase.logger
            )
            .collect().first?.decode(Int.self)
            #expect(unsnapshotted == 0)
            let claims = ClaimStore(
                client: client, logger: TestDatabase.logger, queue: WorkQueue(client: client, logger: TestDatabase.logger))
            let rows = try await client.query(
                "SELECT id FROM claims WHERE encounter_id = \(encounterID) ORDER BY version", logger: TestDatabase.logger)
            var ids: [UUID] = []
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            let original = try await claims.x12Claim(ids[0])
            #expect(original.frequencyCode == "1" && original.payerClaimControlNumber == nil)
            #expect(original.patient.lastName == "Patient" && original.lines.map(\.code) == ["99213"])
            let replacement = try await claims.x12Claim(ids[1])
            #expect(replacement.frequencyCode == "7" && replacement.payerClaimControlNumber == "ICN-ORIGINAL")
            #expect(replacement.totalCharge == 125 && replacement.diagnoses == ["E119"])
        }
    }
}
