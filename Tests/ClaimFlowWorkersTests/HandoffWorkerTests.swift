import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite("Handoff worker on a real PostgreSQL")
struct HandoffWorkerTests {
    @Test("two workers racing over 1,000 coded encounters: each handed off once, the bad ones back with findings, none stuck")
    func racingWorkers() async throws {
        try await TestDatabase.withMigrated(maximumConnections: 10) { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            _ = try await CodeSetStore(client: client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            let ids = try await fixture.receiveMany(1_000)
            // Code them all; every tenth with the header E11, which the rules refuse.
            try await client.transaction(logger: TestDatabase.logger) { connection in
                try await connection.query(
                    "UPDATE encounters SET stage = 'coding' WHERE id = ANY (\(ids))", logger: TestDatabase.logger
                )
                try await connection.query(
                    "UPDATE encounters SET stage = 'coded', coded_by = \(coder) WHERE id = ANY (\(ids))", logger: TestDatabase.logger
                )
                try await connection.query("DELETE FROM work_items WHERE encounter_id = ANY (\(ids))", logger: TestDatabase.logger)
                try await connection.query(
                    """
                    INSERT INTO diagnoses (encounter_id, version, position, code)
                    SELECT id, 1, 1, CASE WHEN n % 10 = 0 THEN 'E11' ELSE 'E119' END
                    FROM unnest(\(ids)::uuid[]) WITH ORDINALITY AS t(id, n)
                    """,
                    logger: TestDatabase.logger
                )
                try await connection.query(
                    """
                    INSERT INTO service_lines (encounter_id, version, line_number, code, units, charge, pointers)
                    SELECT id, 1, 1, '99213', 1, 125.00, '{1}' FROM unnest(\(ids)::uuid[]) AS t(id)
                    """,
                    logger: TestDatabase.logger
                )
            }
            // Bulk intake leaves subscriber empty; give every encounter its coverage.
            try await client.query(
                """
                WITH s AS (
                    INSERT INTO subscribers (practice_id, payer_id, member_id, first_name, last_name, birth_date, sex)
                    VALUES (\(fixture.practiceID), \(fixture.payerID), 'M1000', 'Bulk', 'Patient', '1970-01-01', 'U')
                    RETURNING id
                )
                UPDATE encounters SET subscriber_id = (SELECT id FROM s) WHERE id = ANY (\(ids))
                """,
                logger: TestDatabase.logger
            )

            let workers = (0..<2).map { _ in HandoffWorker(client: client, logger: TestDatabase.logger, batchSize: 25) }
            let results = try await withThrowingTaskGroup(of: HandoffWorker.BatchResult.self) { group in
                for worker in workers {
                    group.addTask {
                        var mine = HandoffWorker.BatchResult()
                        while true {
                            let batch = try await worker.runBatch()
                            mine.passed += batch.passed
                            mine.returned += batch.returned
                            if batch.total == 0 { return mine }
                        }
                    }
                }
                var all: [HandoffWorker.BatchResult] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(results.map(\.passed).reduce(0, +) == 900)
            #expect(results.map(\.returned).reduce(0, +) == 100)

            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 0)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'ready_to_bill'") == 900)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'returned_to_coding'") == 100)
            #expect(try await fixture.count("SELECT count(DISTINCT encounter_id)::int FROM claims") == 900)
            #expect(try await fixture.count("SELECT count(*)::int FROM claims") == 900)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE queue = 'billing'") == 900)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM work_items WHERE queue = 'coding' AND offered_to = \(coder) AND offered_until > now()"
                ) == 100
            )
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'handoff.passed'") == 900)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'handoff.returned'") == 100)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM handoff_findings WHERE findings @> '[{\"rule\": \"diagnosis.header\"}]'"
                ) == 100
            )
            // The returned ones go to their coder first, with the findings in the coder's view.
            let lease = try #require(try await fixture.queue.pullNext(userID: coder, queue: .coding, audit: .system))
            let view = try await CodingStore(client: client, logger: TestDatabase.logger, queue: fixture.queue)
                .coderView(encounterID: lease.encounterID, practiceIDs: [fixture.practiceID], audit: .system)
            #expect(view?.findings.map(\.rule) == ["diagnosis.header"])
            #expect(view?.findings.first?.message == "E11 is a category header; pick a billable code such as E119")
        }
    }

    @Test("an encounter whose check fails rolls back alone: the others are handed off, its attempt recorded by constraint name")
    func failingEncounterRollsBackAlone() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            _ = try await CodeSetStore(client: client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            // Three encounters coded through the real paths with codes the rules pass: each
            // would become a claim in billing.
            var ids: [UUID] = []
            for index in 0..<3 { ids.append(try await fixture.codedEncounter("PART-\(index)", coder: coder)) }
            // The batch takes the oldest change first; the failing one is made the last of the batch.
            try await client.query(
                "UPDATE encounters SET updated_at = now() + interval '1 hour' WHERE id = \(ids[2])", logger: TestDatabase.logger)
            // A work item already standing in the billing queue for the last one makes its
            // handoff fail (one open work item per encounter), after the first two were handed off.
            try await client.query(
                """
                INSERT INTO work_items (encounter_id, queue, practice_id, waiting_stage)
                VALUES (\(ids[2]), 'billing', \(fixture.practiceID), 'ready_to_bill')
                """,
                logger: TestDatabase.logger
            )

            let worker = HandoffWorker(
                client: client, logger: TestDatabase.logger, retry: .init(maxAttempts: 5, firstDelay: .seconds(3600))
            )
            let result = try await worker.runBatch()
            #expect(result.passed == 2 && result.returned == 0 && result.failed == 1 && result.parked == 0, "\(result)")
            // The first two went on; the failing one is still coded, and nothing of its check stayed.
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'ready_to_bill'") == 2)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded' AND id = \(ids[2])") == 1)
            #expect(try await fixture.count("SELECT count(*)::int FROM claims WHERE encounter_id = \(ids[2])") == 0)
            #expect(
                try await fixture.count("SELECT count(*)::int FROM events WHERE action LIKE 'handoff.%' AND encounter_id = \(ids[2])") == 0)
            let failures = try await SupervisorStore(client: client, logger: TestDatabase.logger).failures(practiceIDs: [fixture.practiceID]
            )
            #expect(failures.count == 1)
            let failure = try #require(failures.first)
            #expect(failure.encounterID == ids[2] && failure.kind == .handoffError && failure.state == .retrying)
            #expect(failure.attempts == 1)
            #expect(failure.lastError == "SQLSTATE 23505, constraint work_items_encounter_id_key")
            // Not due for an hour: the next pass leaves it alone.
            #expect(try await worker.runBatch() == HandoffWorker.BatchResult())

            // With the obstacle gone and the attempt due, a pass hands it off and forgets the failure.
            try await client.query("DELETE FROM work_items WHERE encounter_id = \(ids[2])", logger: TestDatabase.logger)
            try await client.query("UPDATE worker_failures SET next_attempt_at = now()", logger: TestDatabase.logger)
            let retried = try await worker.runBatch()
            #expect(retried.passed == 1 && retried.failed == 0)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'ready_to_bill'") == 3)
            #expect(try await fixture.count("SELECT count(DISTINCT encounter_id)::int FROM claims WHERE status = 'ready'") == 3)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE queue = 'billing'") == 3)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'handoff.passed'") == 3)
            #expect(try await fixture.count("SELECT count(*)::int FROM worker_failures") == 0)
        }
    }

    @Test(
        "woken by the notification of an encounter coded: with a 60 s interval, the loop hands a newly coded encounter off within seconds; a full batch doubles the next"
    )
    func wokenByNotification() async throws {
        try await TestDatabase.withMigrated { client, url in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let signals = WorkSignals()
            let listener = Task {
                try await TestDatabase.withListenClient(url, sharing: client) { listening in
                    try await WorkNotifier(client: listening, signals: signals, logger: TestDatabase.logger).run()
                }
            }
            defer { listener.cancel() }
            try await withDeadline(.seconds(10), "the listener") {
                while !(await signals.isListening) { try await Task.sleep(for: .milliseconds(10)) }
            }
            var worker = HandoffWorker(
                client: client, logger: TestDatabase.logger, batchSize: 2, idleInterval: .seconds(60), signals: signals)
            // Nothing coded: the first pass is not full, and the pause would last a minute.
            #expect(try await worker.runPass() == .done)
            let loop = Task { [worker] in try await WorkerLoop(worker).run() }
            defer { loop.cancel() }
            try await Task.sleep(for: .milliseconds(200))
            let id = try await fixture.codedEncounter("WAKE-1", coder: coder)
            try await withDeadline(.seconds(15), "the handoff after the notification") {
                while try await fixture.encounters.stage(of: id) == .coded { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(try await fixture.encounters.stage(of: id) != .coded)

            // Five coded at once: batches of 2, then 4 (doubled after a full one).
            loop.cancel()
            _ = await loop.result
            for n in 1...5 { _ = try await fixture.codedEncounter("WAKE-B\(n)", coder: coder) }
            #expect(try await worker.runPass() == .full)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 3)
            #expect(try await worker.runPass() == .done)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 0)
        }
    }
}
