import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("Intake in chunks on a real PostgreSQL")
struct IntakeBatchTests {
    @Test("a batch writes exactly what its intakes one at a time write, in one chunk or in chunks of three")
    func batchEqualsOneAtATime() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let oneAtATime = try await Fixture.make(client, code: "SEQ")
            let oneChunk = try await Fixture.make(client, code: "ONE")
            let smallChunks = try await Fixture.make(client, code: "SMALL")
            var outcomes: [String: [String]] = [:]
            for (fixture, chunkSize) in [(oneAtATime, 0), (oneChunk, 500), (smallChunks, 3)] {
                let intakeUser = try await fixture.user("intake-\(chunkSize)", roles: [.intake])
                let audit = AuditContext(actorID: intakeUser, clientAddress: "192.0.2.7", requestID: "req-\(chunkSize)")
                try await fixture.encounters.receive(Self.preexisting(fixture), audit: audit)
                let intakes = Self.mixedIntakes(fixture)
                let results: [EncounterStore.IntakeResult]
                if chunkSize == 0 {
                    var sequential: [EncounterStore.IntakeResult] = []
                    for intake in intakes {
                        do {
                            sequential.append(.success(try await fixture.encounters.receive(intake, audit: audit)))
                        } catch {
                            sequential.append(.failure(error))
                        }
                    }
                    results = sequential
                } else {
                    results = try await fixture.encounters.receive(batch: intakes, audit: audit, chunkSize: chunkSize)
                }
                outcomes[fixture.practiceID.uuidString] = Self.signatures(results)
            }
            let expected = [
                "created", "created", "replay of 0", "created", "replay of pre", "conflict", "created", "created",
                "replay of 3", "created", "conflict",
            ]
            #expect(outcomes[oneAtATime.practiceID.uuidString] == expected)
            #expect(outcomes[oneChunk.practiceID.uuidString] == expected)
            #expect(outcomes[smallChunks.practiceID.uuidString] == expected)

            let reference = try await Self.contents(of: oneAtATime)
            #expect(reference.patients.contains("MRN-SHARED|Dee|Shared|1971-03-04|F|-|-|-|-"), "the last intake's patient wins")
            #expect(reference.subscribers.contains("MEM-SHARED|-|Fay|Holder|1950-05-06|M|"), "\(reference.subscribers)")
            #expect(!reference.patients.joined().contains("Zed"), "a refused intake writes no patient")
            #expect(try await Self.contents(of: oneChunk) == reference)
            #expect(try await Self.contents(of: smallChunks) == reference)
        }
    }

    @Test("1,001 intakes in chunks of 500: a replay and a shared patient across the boundary; the batch again changes nothing")
    func chunkBoundaryAndReplay() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            var intakes = (1...1_001).map { fixture.intake("EDGE-\($0)") }
            // Line 501 (the second chunk's first) repeats line 1; lines 500 and 502 share a patient.
            intakes[500] = intakes[0]
            intakes[501].patientMRN = intakes[499].patientMRN
            intakes[501].patient.firstName = "Later"
            let results = try await fixture.encounters.receive(batch: intakes, audit: .system, chunkSize: 500)
            #expect(results.count == 1_001)
            let signatures = Self.signatures(results)
            #expect(signatures.filter { $0 == "created" }.count == 1_000)
            #expect(signatures[500] == "replay of 0")
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters") == 1_000)
            #expect(try await fixture.count("SELECT count(*)::int FROM patients") == 999)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM patients WHERE mrn = \(intakes[499].patientMRN) AND first_name = 'Later'") == 1)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items") == 1_000)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE encounter_id IS NOT NULL") == 2_000)
            // Pull order is intake order: work item ids follow the lines.
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*)::int FROM (
                        SELECT e.external_id, row_number() OVER (ORDER BY w.id) AS n
                        FROM work_items w JOIN encounters e ON e.id = w.encounter_id
                    ) t WHERE t.external_id <> 'EDGE-' || CASE WHEN t.n < 501 THEN t.n ELSE t.n + 1 END
                    """) == 0)

            let before = try await TableSnapshot.take(client)
            let again = try await fixture.encounters.receive(batch: intakes, audit: .system, chunkSize: 500)
            #expect(again.map { (try? $0.get())?.encounterID } == results.map { (try? $0.get())?.encounterID })
            #expect(again.allSatisfy { (try? $0.get())?.created == false })
            #expect(try await TableSnapshot.take(client) == before, "a replayed batch writes nothing")
        }
    }

    @Test("an intake the database refuses makes its chunk fall back to one at a time: its own failure, the others saved")
    func chunkFallsBackOnDatabaseError() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            var refused = fixture.intake("FALL-BAD")
            // The request schema would refuse it; the store's CHECK is what stops it here.
            refused.placeOfService = "1"
            let intakes = [fixture.intake("FALL-1"), refused, fixture.intake("FALL-1"), fixture.intake("FALL-2")]
            let results = try await fixture.encounters.receive(batch: intakes, audit: .system)
            #expect(Self.signatures(results) == ["created", "failed", "replay of 0", "created"])
            if case .failure(let error) = results[1] {
                #expect(!(error is StoreError), "a database error, not a refusal: \(error)")
            }
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters") == 2)
            #expect(try await fixture.count("SELECT count(*)::int FROM patients WHERE mrn = 'MRN-FALL-BAD'") == 0)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items") == 2)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE encounter_id IS NOT NULL") == 4)
        }
    }

    @Test(
        "four batches racing over overlapping external ids and patients: one encounter per external id, every other intake a replay or a conflict"
    )
    func racingBatches() async throws {
        try await TestDatabase.withMigrated(maximumConnections: 8) { client, _ in
            let fixture = try await Fixture.make(client)
            let racers = 4
            // Racer r takes ids 300r ..< 300r + 900 (each id in up to three batches), odd racers
            // backwards; racer 3 tells another story for every seventh id. Fifty patients in all.
            func intakes(of racer: Int) -> [EncounterIntake] {
                var ids = Array((300 * racer)..<(300 * racer + 900))
                if racer % 2 == 1 { ids.reverse() }
                return ids.map { id in
                    let note = racer == 3 && id % 7 == 0 ? "Another note." : "Follow-up visit."
                    var intake = fixture.intake("RACE-\(id)", documentation: note)
                    intake.patientMRN = "MRN-RACE-\(id % 50)"
                    return intake
                }
            }
            let batches = (0..<racers).map(intakes(of:))
            let outcomes = try await withThrowingTaskGroup(of: (Int, [EncounterStore.IntakeResult]).self) { group in
                for racer in 0..<racers {
                    group.addTask {
                        (racer, try await fixture.encounters.receive(batch: batches[racer], audit: .system, chunkSize: 100))
                    }
                }
                var all: [Int: [EncounterStore.IntakeResult]] = [:]
                for try await (racer, results) in group { all[racer] = results }
                return all
            }

            var stored: [String: (id: UUID, note: String)] = [:]
            let rows = try await client.query(
                "SELECT external_id, id, documentation FROM encounters", logger: TestDatabase.logger)
            for try await (externalID, id, note) in rows.decode((String, UUID, String).self) { stored[externalID] = (id, note) }
            #expect(stored.count == 1_800)

            var created: [String: Int] = [:]
            for racer in 0..<racers {
                for (intake, result) in zip(batches[racer], outcomes[racer] ?? []) {
                    let encounter = try #require(stored[intake.externalID])
                    switch result {
                    case .success(let received):
                        #expect(received.encounterID == encounter.id, "\(intake.externalID)")
                        #expect(encounter.note == intake.documentation, "a replay has the stored content")
                        if received.created { created[intake.externalID, default: 0] += 1 }
                    case .failure(let error):
                        #expect((error as? StoreError)?.code == .conflict, "\(intake.externalID): \(error)")
                        #expect(encounter.note != intake.documentation, "only a different story is a conflict")
                    }
                }
            }
            #expect(created.count == 1_800 && created.values.allSatisfy { $0 == 1 }, "each external id created once")
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items") == 1_800)
            #expect(try await fixture.count("SELECT count(*)::int FROM patients") == 50)
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*)::int FROM encounters e
                    WHERE (SELECT count(*) FROM events v WHERE v.encounter_id = e.id AND v.action = 'encounter.received') = 1
                      AND (SELECT count(*) FROM events v WHERE v.encounter_id = e.id AND v.action = 'work.enqueued') = 1
                    """) == 1_800)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE encounter_id IS NOT NULL") == 3_600)
        }
    }

    /// The store's rate by chunk size, printed rather than asserted; runs only when
    /// `CLAIMFLOW_INTAKE_BENCH` is set.
    @Test(
        "10,000 intakes by chunk size: prints encounters per second",
        .enabled(if: ProcessInfo.processInfo.environment["CLAIMFLOW_INTAKE_BENCH"] != nil)
    )
    func chunkSizeRates() async throws {
        for chunkSize in [1, 100, 250, 500, 1_000, 2_000] {
            try await TestDatabase.withMigrated { client, _ in
                let fixture = try await Fixture.make(client)
                let intakes = (1...10_000).map { fixture.intake("RATE-\($0)") }
                let clock = ContinuousClock()
                let start = clock.now
                let results =
                    chunkSize == 1
                    ? try await fixture.encounters.receive(batch: Array(intakes.prefix(1_000)), audit: .system, chunkSize: 1)
                    : try await fixture.encounters.receive(batch: intakes, audit: .system, chunkSize: chunkSize)
                let elapsed = clock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                #expect(results.allSatisfy { (try? $0.get())?.created == true })
                print("intake store, chunks of \(chunkSize): \(results.count) in \(seconds) s, \(Int(Double(results.count) / seconds))/s")
            }
        }
    }

    // MARK: Helpers

    /// The encounter received before the batch, which the batch replays and contradicts.
    static func preexisting(_ fixture: Fixture) -> EncounterIntake {
        fixture.intake("PRE")
    }

    /// New intakes, repeats, conflicts and shared patients and subscribers, in an order where
    /// getting "one after another" wrong shows.
    static func mixedIntakes(_ fixture: Fixture) -> [EncounterIntake] {
        func shared(_ externalID: String, _ firstName: String, address: Bool = true) -> EncounterIntake {
            var intake = fixture.intake(externalID)
            intake.patientMRN = "MRN-SHARED"
            intake.patient.firstName = firstName
            intake.patient.lastName = "Shared"
            intake.patient.birthDate = CalendarDate("1971-03-04")!
            if !address { intake.patient.address = nil }
            intake.coverage.subscriber = intake.patient
            return intake
        }
        func covered(_ externalID: String, by firstName: String) -> EncounterIntake {
            var intake = fixture.intake(
                externalID,
                subscriber: Person(firstName: firstName, lastName: "Holder", birthDate: CalendarDate("1950-05-06")!, sex: .male)
            )
            intake.coverage.memberID = "MEM-SHARED"
            return intake
        }
        var conflicting = shared("A", "Zed")
        conflicting.documentation = "Edited note."
        var changedPre = preexisting(fixture)
        changedPre.documentation = "Edited note."
        var cardiology = fixture.intake("E", specialty: "cardiology", priority: 7)
        cardiology.coverage.groupNumber = "G-1"
        return [
            shared("A", "Ada"),  // 0 created
            shared("B", "Bea"),  // 1 created, same patient
            shared("A", "Ada"),  // 2 replay of 0
            covered("C", by: "Cal"),  // 3 created
            preexisting(fixture),  // 4 replay of the earlier encounter
            changedPre,  // 5 conflict
            shared("D", "Dee", address: false),  // 6 created, same patient, no address
            cardiology,  // 7 created
            covered("C", by: "Cal"),  // 8 replay of 3
            covered("F", by: "Fay"),  // 9 created, same subscriber as C
            conflicting,  // 10 conflict, writes nothing
        ]
    }

    /// Each result as "created", "replay of N" (N: the index of the result that created it, or
    /// "pre" for an encounter from before), "conflict" or "failed".
    static func signatures(_ results: [EncounterStore.IntakeResult]) -> [String] {
        var firstIndex: [UUID: Int] = [:]
        return results.enumerated().map { index, result in
            switch result {
            case .success(let received):
                if received.created {
                    firstIndex[received.encounterID] = index
                    return "created"
                }
                return "replay of " + (firstIndex[received.encounterID].map(String.init) ?? "pre")
            case .failure(let error as StoreError) where error.code == .conflict:
                return "conflict"
            case .failure:
                return "failed"
            }
        }
    }

    /// What a practice's intake wrote, without ids, times and the practice's own references.
    struct Contents: Equatable {
        var encounters: [String]
        var patients: [String]
        var subscribers: [String]
        var workItems: [String]
        var events: [String]
    }

    static func contents(of fixture: Fixture) async throws -> Contents {
        func lines(_ query: PostgresQuery) async throws -> [String] {
            var result: [String] = []
            let rows = try await fixture.client.query(query, logger: TestDatabase.logger)
            for try await line in rows.decode(String.self) { result.append(line) }
            return result
        }
        let practice = fixture.practiceID
        return Contents(
            encounters: try await lines(
                """
                SELECT concat_ws('|', e.external_id, p.mrn, s.member_id, e.patient_relationship, e.date_of_service,
                                 e.place_of_service, e.specialty, e.priority, e.stage, e.version, e.documentation,
                                 octet_length(e.intake_digest), e.created_at = e.updated_at, e.coded_by IS NULL,
                                 e.payer_id = s.payer_id, e.rendering_provider_id IS NOT NULL)
                FROM encounters e JOIN patients p ON p.id = e.patient_id LEFT JOIN subscribers s ON s.id = e.subscriber_id
                WHERE e.practice_id = \(practice)
                ORDER BY e.external_id
                """),
            patients: try await lines(
                """
                SELECT concat_ws('|', mrn, first_name, last_name, birth_date, sex, coalesce(address_line1, '-'),
                                 coalesce(city, '-'), coalesce(state, '-'), coalesce(postal_code, '-'))
                FROM patients WHERE practice_id = \(practice) ORDER BY mrn
                """),
            subscribers: try await lines(
                """
                SELECT concat_ws('|', member_id, coalesce(group_number, '-'), first_name, last_name, birth_date, sex,
                                 coalesce(address_line1, ''))
                FROM subscribers WHERE practice_id = \(practice) ORDER BY member_id
                """),
            workItems: try await lines(
                """
                SELECT concat_ws('|', e.external_id, w.queue, w.required_skill, w.priority, w.waiting_stage,
                                 w.offered_to IS NULL, w.offered_until IS NULL, w.lease_id IS NULL, w.attempts,
                                 w.enqueued_at = w.available_at, w.date_of_service, w.filing_deadline - w.date_of_service,
                                 w.charges)
                FROM work_items w JOIN encounters e ON e.id = w.encounter_id
                WHERE w.practice_id = \(practice)
                ORDER BY w.id
                """),
            events: try await lines(
                """
                SELECT concat_ws('|', e.external_id, v.action, coalesce(v.from_stage, '-'), v.to_stage,
                                 u.username LIKE 'intake-%', v.lease_id IS NULL, v.client_address,
                                 v.request_id LIKE 'req-%', v.detail::text)
                FROM events v JOIN encounters e ON e.id = v.encounter_id LEFT JOIN users u ON u.id = v.actor_id
                WHERE v.practice_id = \(practice)
                ORDER BY v.id
                """)
        )
    }
}
