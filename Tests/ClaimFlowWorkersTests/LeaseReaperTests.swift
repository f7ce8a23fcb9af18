import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import PostgresNIO
import Testing

@Suite("Lease reaper on a real PostgreSQL")
struct LeaseReaperTests {
    @Test("reapers racing in parallel return each expired lease exactly once")
    func racingReapers() async throws {
        try await TestDatabase.withMigrated(maximumConnections: 30) { client, _ in
            let fixture = try await Fixture.make(client)
            let shortQueue = fixture.queue(leaseDuration: .milliseconds(200))
            _ = try await fixture.receiveMany(300)
            let coder = try await fixture.user("coder")
            // One coder holds all 300 leases, as this practice's fair-share cap allows.
            _ = try await PracticeStore(client: client, logger: TestDatabase.logger)
                .setLeaseCap(practiceID: fixture.practiceID, to: 300, audit: .system)
            for _ in 0..<300 { _ = try await shortQueue.pullNext(userID: coder, queue: .coding, audit: .system) }
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE lease_id IS NOT NULL") == 300)
            try await Task.sleep(for: .milliseconds(400))

            let reapers = (0..<4).map { _ in
                LeaseReaper(queue: fixture.queue, logger: TestDatabase.logger)
            }
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for reaper in reapers { group.addTask { try await reaper.reapOnce() } }
                return try await group.reduce(0, +)
            }
            let again = try await reapers[0].reapOnce()
            #expect(total + again == 300)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE lease_id IS NOT NULL") == 0)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'lease.expired'") == 300)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'ready_to_code'") == 300)
        }
    }

    @Test("a live lease is left alone")
    func liveLeaseSurvives() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            _ = try await fixture.receive("E1")
            let lease = try #require(try await fixture.queue.pullNext(userID: coder, queue: .coding, audit: .system))
            let reaper = LeaseReaper(queue: fixture.queue, logger: TestDatabase.logger)
            #expect(try await reaper.reapOnce() == 0)
            _ = try await fixture.queue.heartbeat(encounterID: lease.encounterID, leaseID: lease.id, holder: coder)
        }
    }

    @Test("a reaper pass moves work within 30 days of its filing limit up to 90; work outside the window and higher priorities stay")
    func raisesPriorityNearFilingLimit() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            // Name, days from today to the filing deadline (nil: none), priority before, after.
            let cases: [(name: String, days: Int?, before: Int, after: Int)] = [
                ("HIGHER", 5, 95, 95),
                ("PAST", -5, 0, 90),
                ("TODAY", 0, 10, 90),
                ("WITHIN", 10, 40, 90),
                ("EDGE", 30, 0, 90),
                ("ALREADY", 5, 90, 90),
                ("OUTSIDE", 31, 0, 0),
                ("FAR", 365, 20, 20),
                ("NO-DEADLINE", nil, 0, 0),
            ]
            var ids: [String: UUID] = [:]
            for item in cases {
                let id = try await fixture.receive(item.name, priority: item.before)
                ids[item.name] = id
                try await client.query(
                    "UPDATE work_items SET filing_deadline = current_date + \(item.days)::int WHERE encounter_id = \(id)",
                    logger: TestDatabase.logger
                )
            }
            let reaper = LeaseReaper(queue: fixture.queue, logger: TestDatabase.logger)
            #expect(try await reaper.reapOnce() == 0)

            for item in cases {
                let priority = try await fixture.count("SELECT priority FROM work_items WHERE encounter_id = \(ids[item.name]!)")
                #expect(priority == item.after, "\(item.name): priority \(priority), expected \(item.after)")
            }
            let raised = cases.filter { $0.after != $0.before }.map { ids[$0.name]! }
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'work.priority_raised'") == raised.count)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM events WHERE action = 'work.priority_raised' AND encounter_id = ANY (\(raised))"
                ) == raised.count
            )
            // A second pass finds nothing more to raise.
            #expect(try await fixture.queue.upkeep()?.raised == 0)

            // The raised work is now pulled ahead of everything below 90.
            var order: [String] = []
            let names = Dictionary(uniqueKeysWithValues: ids.map { ($0.value, $0.key) })
            // Each is finished before the next pull: at the fair-share cap a pull answers with held work.
            while let lease = try await fixture.queue.pullNext(userID: coder, queue: .coding, audit: .system) {
                order.append(names[lease.encounterID] ?? "?")
                try await fixture.queue.finish(
                    encounterID: lease.encounterID, leaseID: lease.id, holder: coder, queue: .coding, to: .coded,
                    action: "coding.completed", audit: .system)
            }
            #expect(order == ["HIGHER", "PAST", "TODAY", "WITHIN", "EDGE", "ALREADY", "FAR", "OUTSIDE", "NO-DEADLINE"])
        }
    }
}
