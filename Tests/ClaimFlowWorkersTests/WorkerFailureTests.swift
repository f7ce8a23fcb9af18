import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import Logging
import PostgresNIO
import Testing

/// One bad item never holds back its queue: a poison encounter in the handoff and a poison
/// claim in the outbox each end on the supervisors' failures list while the rest moves on.
@Suite("Worker failures on a real PostgreSQL")
struct WorkerFailureTests {
    /// Makes every claim insert for `encounterID` fail, the way a bad row or a broken trigger
    /// would: a trigger raising with a message that quotes PHI, which must never reach the list.
    static func poison(_ encounterID: UUID, on client: PostgresClient) async throws {
        let logger = TestDatabase.logger
        try await client.query("CREATE TABLE IF NOT EXISTS poisoned (encounter_id uuid PRIMARY KEY)", logger: logger)
        try await client.query(
            """
            CREATE OR REPLACE FUNCTION refuse_poisoned() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM poisoned WHERE encounter_id = NEW.encounter_id) THEN
                    RAISE EXCEPTION 'poisoned claim of patient Jane Doe, born 1970-01-01';
                END IF;
                RETURN NEW;
            END $$
            """,
            logger: logger
        )
        try await client.query("DROP TRIGGER IF EXISTS claims_poisoned ON claims", logger: logger)
        try await client.query(
            "CREATE TRIGGER claims_poisoned BEFORE INSERT ON claims FOR EACH ROW EXECUTE FUNCTION refuse_poisoned()", logger: logger)
        try await client.query("INSERT INTO poisoned (encounter_id) VALUES (\(encounterID))", logger: logger)
    }

    /// `count` encounters coded through the real paths with codes the handoff rules pass (the
    /// diagnosis code set loaded once).
    static func coded(_ fixture: Fixture, _ prefix: String, _ count: Int, coder: UUID) async throws -> [UUID] {
        if try await fixture.count("SELECT count(*)::int FROM code_set_releases") == 0 {
            _ = try await CodeSetStore(client: fixture.client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
        }
        var ids: [UUID] = []
        for index in 0..<count { ids.append(try await fixture.codedEncounter("\(prefix)-\(index)", coder: coder)) }
        return ids
    }

    @Test(
        "a poison encounter: retried, parked after 5 attempts and listed by code only, while the others are handed off; retried after the fix"
    )
    func poisonEncounter() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let supervision = SupervisorStore(client: client, logger: TestDatabase.logger)
            var waiting = try await Self.coded(fixture, "FIRST", 4, coder: coder)
            let poison = waiting[1]
            try await Self.poison(poison, on: client)
            // No backoff, so each pass is the next attempt; the limit is the default 5.
            let worker = HandoffWorker(client: client, logger: TestDatabase.logger, retry: .init(firstDelay: .zero))

            var handedOff = 0
            for attempt in 1...5 {
                let result = try await worker.runBatch()
                #expect(result.failed == 1, "attempt \(attempt): \(result)")
                #expect(result.parked == (attempt == 5 ? 1 : 0), "attempt \(attempt): \(result)")
                #expect(result.passed == waiting.count - 1, "attempt \(attempt): the rest of the queue moves: \(result)")
                handedOff += result.passed
                // New work keeps arriving behind the poison, and keeps going through.
                waiting = [poison] + (try await Self.coded(fixture, "MORE-\(attempt)", 2, coder: coder))
            }
            #expect(handedOff == 3 + 4 * 2)

            let failures = try await supervision.failures(practiceIDs: [fixture.practiceID])
            #expect(failures.count == 1)
            let failure = try #require(failures.first)
            #expect(failure.encounterID == poison && failure.kind == .handoffError && failure.worker == "handoff")
            #expect(failure.state == .parked && failure.attempts == 5 && failure.nextAttemptAt == nil && failure.parkedAt != nil)
            #expect(failure.lastError == "SQLSTATE P0001", "the code only, never the message: \(failure.lastError)")
            #expect(failure.firstFailedAt <= failure.lastFailedAt)
            #expect(
                try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'handoff.parked' AND encounter_id = \(poison)")
                    == 1)

            // Parked: no more automatic attempts, and the new work behind it still goes through.
            let parkedPass = try await worker.runBatch()
            #expect(parkedPass.failed == 0 && parkedPass.passed == 2, "\(parkedPass)")
            #expect(try await worker.runBatch() == HandoffWorker.BatchResult())
            #expect(try await supervision.failures(practiceIDs: [fixture.practiceID]).first?.attempts == 5)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 1)

            // Another practice's supervisor neither sees nor retries it.
            let other = try await Fixture.make(client, code: "OTHER")
            #expect(try await supervision.failures(practiceIDs: [other.practiceID]).isEmpty)
            let refused = await #expect(throws: StoreError.self) {
                _ = try await supervision.retryFailure(id: failure.id, practiceIDs: [other.practiceID], audit: .system)
            }
            #expect(refused?.code == .notFound)

            // The cause removed, a supervisor's retry makes it due, and the next pass hands it off.
            try await client.query("DROP TRIGGER claims_poisoned ON claims", logger: TestDatabase.logger)
            let retried = try await supervision.retryFailure(id: failure.id, practiceIDs: [fixture.practiceID], audit: .system)
            #expect(retried.state == .retrying && retried.attempts == 5)
            let resumed = try await worker.runBatch()
            #expect(resumed.passed == 1 && resumed.failed == 0, "\(resumed)")
            #expect(try await fixture.encounters.stage(of: poison) == .readyToBill)
            #expect(try await supervision.failures(practiceIDs: [fixture.practiceID]).isEmpty)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'ready_to_bill'") == 3 + 4 * 2 + 2 + 1)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM events WHERE action = 'handoff.retry_requested' AND encounter_id = \(poison)") == 1)
        }
    }

    @Test("the backoff doubles from the first delay; a retry after the limit gets one attempt and parks again")
    func backoffDoubles() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let poison = try #require(try await Self.coded(fixture, "BACKOFF", 1, coder: coder).first)
            try await Self.poison(poison, on: client)
            let worker = HandoffWorker(
                client: client, logger: TestDatabase.logger, retry: .init(maxAttempts: 3, firstDelay: .seconds(60)))
            let delay = "SELECT round(extract(epoch FROM next_attempt_at - last_failed_at))::int FROM worker_failures"
            #expect(try await worker.runBatch().failed == 1)
            #expect(try await fixture.count(PostgresQuery(unsafeSQL: delay)) == 60)
            // Not due yet: a pass leaves it alone.
            #expect(try await worker.runBatch().failed == 0)
            let makeDue = "UPDATE worker_failures SET next_attempt_at = now() - interval '1 second'"
            try await client.query(PostgresQuery(unsafeSQL: makeDue), logger: TestDatabase.logger)
            #expect(try await worker.runBatch().failed == 1)
            #expect(try await fixture.count(PostgresQuery(unsafeSQL: delay)) == 120)
            try await client.query(PostgresQuery(unsafeSQL: makeDue), logger: TestDatabase.logger)
            #expect(try await worker.runBatch().parked == 1)
            let supervision = SupervisorStore(client: client, logger: TestDatabase.logger)
            let parked = try #require(try await supervision.failures(practiceIDs: [fixture.practiceID]).first)
            #expect(parked.state == .parked && parked.attempts == 3)
            _ = try await supervision.retryFailure(id: parked.id, practiceIDs: [fixture.practiceID], audit: .system)
            #expect(try await worker.runBatch().parked == 1)
            let again = try #require(try await supervision.failures(practiceIDs: [fixture.practiceID]).first)
            #expect(again.state == .parked && again.attempts == 4)
        }
    }

    @Test("claims the 837P writer refuses go back to billing with the field named; the claims behind them go out")
    func unwritableClaims() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            var poison: [UUID] = []
            for index in 0..<3 { poison.append(try await fixture.submittedClaim("BAD-\(index)", coder: coder, biller: biller)) }
            var good: [UUID] = []
            for index in 0..<3 { good.append(try await fixture.submittedClaim("GOOD-\(index)", coder: coder, biller: biller)) }
            // What a stricter writer (a newer build) refuses: the snapshot changed around its guard.
            try await Self.setPlaceOfService("1", of: poison, on: client)

            let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-unwritable-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: outbox) }
            // Two claims an interchange: the first two the outbox offers are both refused.
            let batcher = SubmissionBatcher(
                client: client, queue: fixture.queue, outbox: outbox, settings: X12Settings(), logger: TestDatabase.logger,
                batchSize: 2
            )
            #expect(try await batcher.runOnce() == 3)
            #expect(try await batcher.runOnce() == 0, "the refused claims are not tried again")

            var written: [String] = []
            for file in try FileManager.default.contentsOfDirectory(atPath: outbox.path).sorted() {
                #expect(file.hasSuffix(".837"), "no temporary file is left: \(file)")
                let text = try String(contentsOf: outbox.appending(path: file), encoding: .utf8)
                written += SubmissionTests.segments(of: text).filter { $0[0] == "CLM" }.map { $0[1] }
                let verdict = try PyX12.validate(outbox.appending(path: file))
                #expect(verdict.ok, "\(file): \(verdict.output)")
            }
            #expect(written.sorted() == good.map { X12Claim.patientControlNumber(for: $0) }.sorted())

            // Each refused claim is out of the outbox, ready again, its encounter in the billing queue.
            for claim in poison {
                #expect(try await fixture.count("SELECT count(*)::int FROM claims WHERE id = \(claim) AND status = 'ready'") == 1)
                #expect(
                    try await fixture.count(
                        """
                        SELECT count(*)::int FROM claims c JOIN encounters e ON e.id = c.encounter_id
                        JOIN work_items w ON w.encounter_id = e.id
                        WHERE c.id = \(claim) AND e.stage = 'ready_to_bill' AND w.queue = 'billing'
                        """) == 1)
            }
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*)::int FROM events
                    WHERE action IN ('claim.unwritable', 'claim.back_to_billing') AND detail ->> 'reason' = 'CLM05-1 place of service'
                    """) == 6)
            let supervision = SupervisorStore(client: client, logger: TestDatabase.logger)
            let failures = try await supervision.failures(practiceIDs: [fixture.practiceID])
            #expect(Set(failures.compactMap(\.claimID)) == Set(poison))
            #expect(failures.allSatisfy { $0.kind == .unwritableClaim && $0.state == .parked && $0.worker == "submission_batcher" })
            #expect(failures.allSatisfy { $0.lastError == "CLM05-1 place of service" }, "\(failures.map(\.lastError))")
            let notRetried = await #expect(throws: StoreError.self) {
                _ = try await supervision.retryFailure(id: failures[0].id, practiceIDs: [fixture.practiceID], audit: .system)
            }
            #expect(notRetried?.code == .conflict)

            // The biller who submits it unchanged is refused, naming the field.
            let claims = ClaimStore(client: client, logger: TestDatabase.logger, queue: fixture.queue)
            let encounter = try await Self.encounter(of: poison[1], on: client)
            let lease = try await fixture.queue.reassign(encounterID: encounter, to: biller, reason: "test", audit: .system)
            let refused = await #expect(throws: StoreError.self) {
                try await claims.submit(
                    claimID: poison[1], leaseID: lease.id, holder: biller, practiceIDs: [fixture.practiceID], audit: .system)
            }
            #expect(refused?.code == .unsubmittable)

            // Once it is corrected and submitted again, it goes out and leaves the list.
            try await Self.setPlaceOfService("11", of: [poison[0]], on: client)
            let fixed = try await Self.encounter(of: poison[0], on: client)
            let billing = try await fixture.queue.reassign(encounterID: fixed, to: biller, reason: "test", audit: .system)
            try await claims.submit(
                claimID: poison[0], leaseID: billing.id, holder: biller, practiceIDs: [fixture.practiceID], audit: .system)
            #expect(try await batcher.runOnce() == 1)
            #expect(Set(try await supervision.failures(practiceIDs: [fixture.practiceID]).compactMap(\.claimID)) == Set(poison.dropFirst()))
        }
    }

    static func setPlaceOfService(_ code: String, of claims: [UUID], on client: PostgresClient) async throws {
        try await client.withTransaction(logger: TestDatabase.logger) { connection in
            try await connection.query("ALTER TABLE claims DISABLE TRIGGER claims_snapshot_immutable", logger: TestDatabase.logger)
            try await connection.query(
                "UPDATE claims SET snapshot = snapshot || jsonb_build_object('placeOfService', \(code)::text) WHERE id = ANY (\(claims))",
                logger: TestDatabase.logger
            )
            try await connection.query("ALTER TABLE claims ENABLE TRIGGER claims_snapshot_immutable", logger: TestDatabase.logger)
        }
    }

    static func encounter(of claim: UUID, on client: PostgresClient) async throws -> UUID {
        let rows = try await client.query("SELECT encounter_id FROM claims WHERE id = \(claim)", logger: TestDatabase.logger)
        for try await id in rows.decode(UUID.self) { return id }
        throw TestSetupError("no claim \(claim)")
    }

    @Test("two batchers on separate clients racing over 1,000 claims: every claim in exactly one complete, pyx12-valid file")
    func twoBatchersRace() async throws {
        try await TestDatabase.withMigrated { client, url in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            let claims = try await fixture.submittedClaims(1_000, coder: coder, biller: biller)
            #expect(Set(claims).count == 1_000)
            let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-race-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: outbox) }

            let remaining: @Sendable () async throws -> Int = {
                try await fixture.count(
                    """
                    SELECT (SELECT count(*)::int FROM claims c WHERE c.status = 'submitted'
                              AND NOT EXISTS (SELECT 1 FROM interchange_claims ic WHERE ic.claim_id = c.id))
                         + (SELECT count(*)::int FROM interchanges WHERE written_at IS NULL)
                    """)
            }
            let sent = try await TestDatabase.withClient(url, maximumConnections: 4) { other in
                let batchers = [client, other].map { pool in
                    SubmissionBatcher(
                        client: pool, queue: WorkQueue(client: pool, logger: TestDatabase.logger), outbox: outbox,
                        settings: X12Settings(), logger: TestDatabase.logger, batchSize: 50
                    )
                }
                return try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                    // One drains as `outbox flush` does (waiting its turn for the lock), the other
                    // runs the periodic passes of `serve` or `work` (skipping while locked out).
                    group.addTask {
                        var claims = 0
                        for _ in 0..<1_000 {
                            claims += try await batchers[0].runOnce()
                            if try await remaining() == 0 { break }
                            try await Task.sleep(for: .milliseconds(2))
                        }
                        return (0, claims)
                    }
                    group.addTask {
                        var passes = 0
                        for _ in 0..<10_000 {
                            if try await batchers[1].runPass() == .full {
                                passes += 1
                            } else if try await remaining() == 0 {
                                break
                            } else {
                                try await Task.sleep(for: .milliseconds(2))
                            }
                        }
                        return (1, passes)
                    }
                    var result = [0, 0]
                    for try await (index, value) in group { result[index] = value }
                    return result
                }
            }
            #expect(try await remaining() == 0)

            let names = try FileManager.default.contentsOfDirectory(atPath: outbox.path).sorted()
            #expect(names.allSatisfy { $0.hasSuffix(".837") && !$0.hasPrefix(".") }, "no temporary file is left")
            var inFiles: [String] = []
            var controlNumbers: [String] = []
            var invalid = 0
            for name in names {
                let text = try String(contentsOf: outbox.appending(path: name), encoding: .utf8)
                let segments = SubmissionTests.segments(of: text)
                let isa = try #require(segments.first { $0[0] == "ISA" })
                let iea = try #require(segments.last)
                #expect(iea[0] == "IEA" && iea[2] == isa[13], "\(name) is complete")
                controlNumbers.append(isa[13])
                inFiles += segments.filter { $0[0] == "CLM" }.map { $0[1] }
                let verdict = try PyX12.validate(outbox.appending(path: name))
                if !verdict.ok { invalid += 1 }
                #expect(verdict.ok, "\(name): \(verdict.output)")
            }
            let expected = Set(claims.map { X12Claim.patientControlNumber(for: $0) })
            let duplicates = inFiles.count - Set(inFiles).count
            let lost = expected.subtracting(inFiles).count
            print(
                """
                two batchers: \(claims.count) claims, \(names.count) files (\(invalid) refused by pyx12), \
                duplicates \(duplicates), lost \(lost); the draining one sent \(sent[0]) claims, the periodic one \(sent[1]) interchanges
                """
            )
            #expect(duplicates == 0 && lost == 0 && Set(inFiles) == expected)
            #expect(Set(controlNumbers).count == names.count, "no control number repeats")
            #expect(try await fixture.count("SELECT count(*)::int FROM interchanges") == names.count)
            #expect(try await fixture.count("SELECT count(DISTINCT claim_id)::int FROM interchange_claims") == 1_000)
        }
    }
}
