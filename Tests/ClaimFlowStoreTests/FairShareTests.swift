import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("Fair share and kept answers on a real PostgreSQL")
struct FairShareTests {
    @Test("16 concurrent pulls by one coder lease one encounter; under a cap of 3, three; others still get work")
    func concurrentPullsKeepTheCap() async throws {
        try await TestDatabase.withMigrated(maximumConnections: 24) { client, _ in
            let fixture = try await Fixture.make(client)
            _ = try await fixture.receiveMany(40)
            let coder = try await fixture.user("hoarder")
            let other = try await fixture.user("other")
            let queue = fixture.queue

            func pullConcurrently(_ times: Int, as user: UUID) async throws -> [Lease] {
                try await withThrowingTaskGroup(of: Lease?.self) { group in
                    for _ in 0..<times {
                        group.addTask { try await queue.pullNext(userID: user, queue: .coding, audit: .system) }
                    }
                    var leases: [Lease] = []
                    for try await lease in group { if let lease { leases.append(lease) } }
                    return leases
                }
            }

            let first = try await pullConcurrently(16, as: coder)
            #expect(first.count == 16, "at the cap, every pull answers with the held work")
            #expect(Set(first.map(\.id)).count == 1, "one lease, answered 16 times")
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE lease_holder = \(coder)") == 1)

            let practices = PracticeStore(client: client, logger: TestDatabase.logger)
            #expect(try await practices.setLeaseCap(practiceID: fixture.practiceID, to: 3, audit: .system))
            #expect(try await practices.leaseCap(practiceID: fixture.practiceID) == 3)
            let capped = try await pullConcurrently(16, as: coder)
            #expect(Set(capped.map(\.id)).count == 3, "\(Set(capped.map(\.id)).count) leases under a cap of 3")
            #expect(Set(capped.map(\.id)).contains(first[0].id), "the first lease is kept")
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE lease_holder = \(coder)") == 3)

            let theirs = try #require(try await queue.pullNext(userID: other, queue: .coding, audit: .system))
            #expect(!Set(capped.map(\.encounterID)).contains(theirs.encounterID))
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'work.pulled'") == 4)

            // An expired lease counts for nothing: the reaper has not run, yet new work is leased.
            try await client.query(
                "UPDATE work_items SET lease_expires_at = now() - interval '1 second' WHERE lease_holder = \(other)",
                logger: TestDatabase.logger)
            let fresh = try #require(try await queue.pullNext(userID: other, queue: .coding, audit: .system))
            #expect(fresh.id != theirs.id)
        }
    }

    @Test("expired keys are reused as fresh ones and purged by the reaper's pass")
    func expiredKeys() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let store = IdempotencyStore(client: client, logger: TestDatabase.logger)
            let key = try #require(IdempotencyKey(userID: coder, key: "k1", operation: "op", path: "/x", body: Data("{}".utf8)))
            #expect(IdempotencyKey(userID: coder, key: "with space", operation: "op", path: "/x", body: Data()) == nil)
            let answer = StoredAnswer(status: 200, body: Array("{\"a\":1}".utf8))
            #expect(try await store.recordPull(key, answer: answer) == .replay(answer))
            #expect(try await store.lookup(key) == .replay(answer))
            let other = try #require(IdempotencyKey(userID: coder, key: "k1", operation: "op", path: "/y", body: Data("{}".utf8)))
            #expect(try await store.lookup(other) == .mismatch(operation: "op"))

            try await client.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'", logger: TestDatabase.logger)
            #expect(try await store.lookup(key) == nil)
            let second = StoredAnswer(status: 204, body: [])
            #expect(try await store.recordPull(other, answer: second) == .replay(second), "an expired key is free again")
            try await client.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'", logger: TestDatabase.logger)
            _ = try await fixture.queue.upkeep()
            #expect(try await fixture.count("SELECT count(*)::int FROM idempotency_keys") == 0)
        }
    }
}
