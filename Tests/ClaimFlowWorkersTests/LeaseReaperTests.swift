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
}
