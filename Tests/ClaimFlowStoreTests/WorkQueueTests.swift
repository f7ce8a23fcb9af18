import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("Work queue on a real PostgreSQL")
struct WorkQueueTests {
    @Test("64 concurrent pullers drain 5,000 items: each leased and completed exactly once, each audited")
    func concurrentPullersDrainTheQueue() async throws {
        try await TestDatabase.withMigrated(maximumConnections: 64) { client, _ in
            let fixture = try await Fixture.make(client)
            let ids = try await fixture.receiveMany(5_000)
            var coders: [UUID] = []
            for index in 0..<64 { coders.append(try await fixture.user("coder\(index)")) }

            let queue = fixture.queue
            let pulled = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for coder in coders {
                    group.addTask {
                        var mine: [UUID] = []
                        while let lease = try await queue.pullNext(
                            userID: coder, queue: .coding, audit: AuditContext(actorID: coder)
                        ) {
                            mine.append(lease.encounterID)
                            try await queue.finish(
                                encounterID: lease.encounterID, leaseID: lease.id, holder: coder,
                                queue: .coding, to: .coded, action: "coding.completed",
                                audit: AuditContext(actorID: coder)
                            )
                        }
                        return mine
                    }
                }
                var all: [UUID] = []
                for try await batch in group { all += batch }
                return all
            }

            #expect(pulled.count == 5_000)
            #expect(Set(pulled) == Set(ids), "every item leased, none twice")
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items") == 0)
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 5_000)
            #expect(
                try await fixture.count(
                    "SELECT count(DISTINCT encounter_id)::int FROM events WHERE action = 'work.pulled'"
                ) == 5_000
            )
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'work.pulled'") == 5_000)
            #expect(
                try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'coding.completed'") == 5_000
            )
            // Each completion is by the same person who pulled it.
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*)::int FROM events p JOIN events c
                      ON c.encounter_id = p.encounter_id AND c.action = 'coding.completed'
                    WHERE p.action = 'work.pulled' AND p.actor_id = c.actor_id AND p.lease_id = c.lease_id
                    """
                ) == 5_000
            )
        }
    }

    @Test("higher priority first, then the oldest")
    func priorityThenAge() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let old = try await fixture.receive("OLD")
            let newer = try await fixture.receive("NEWER")
            let urgent = try await fixture.receive("URGENT", priority: 90)
            let middle = try await fixture.receive("MIDDLE", priority: 40)

            var order: [UUID] = []
            // Each is finished before the next pull: at the fair-share cap a pull answers with held work.
            while let lease = try await fixture.queue.pullNext(userID: coder, queue: .coding, audit: .system) {
                order.append(lease.encounterID)
                try await fixture.queue.finish(
                    encounterID: lease.encounterID, leaseID: lease.id, holder: coder, queue: .coding, to: .coded,
                    action: "coding.completed", audit: .system)
            }
            #expect(order == [urgent, middle, old, newer])
        }
    }

    @Test("a user gets only their practices' work and only work their skills allow")
    func practiceAndSkillFilters() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let mine = try await Fixture.make(client, code: "MINE")
            let other = try await Fixture.make(client, code: "OTHER")
            let coder = try await mine.user("coder", skills: ["family_medicine"])
            let family = try await mine.receive("FAMILY")
            _ = try await mine.receive("CARDIO", specialty: "cardiology")
            _ = try await other.receive("ELSEWHERE")

            let first = try #require(try await mine.queue.pullNext(userID: coder, queue: .coding, audit: .system))
            #expect(first.encounterID == family)
            // Finished, so the next pull is not answered with the held work (fair share).
            try await mine.queue.finish(
                encounterID: first.encounterID, leaseID: first.id, holder: coder, queue: .coding, to: .coded,
                action: "coding.completed", audit: .system)
            #expect(try await mine.queue.pullNext(userID: coder, queue: .coding, audit: .system) == nil)

            // A biller-only user cannot pull coding work at all, and a coder cannot pull billing.
            let biller = try await mine.user("biller", roles: [.biller])
            #expect(try await mine.queue.pullNext(userID: biller, queue: .coding, audit: .system) == nil)
            let cardiologist = try await mine.user("cardio", skills: ["cardiology"])
            #expect(try await mine.queue.pullNext(userID: cardiologist, queue: .billing, audit: .system) == nil)
            #expect(try await mine.queue.pullNext(userID: cardiologist, queue: .coding, audit: .system) != nil)
            // An inactive user gets nothing.
            let inactive = try await mine.user("gone", skills: ["cardiology", "family_medicine"], active: false)
            _ = try await mine.receive("MORE")
            #expect(try await mine.queue.pullNext(userID: inactive, queue: .coding, audit: .system) == nil)
        }
    }

    @Test("a released lease cannot complete, heartbeat or write, and changes nothing")
    func releasedLeaseIsStale() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let id = try await fixture.receive("E1")
            let lease = try #require(try await fixture.queue.pullNext(userID: coder, queue: .coding, audit: .system))
            try await fixture.queue.release(encounterID: id, leaseID: lease.id, holder: coder, reason: "lunch", audit: .system)
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode)

            try await expectStale(fixture, encounterID: id, leaseID: lease.id, holder: coder)
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE lease_id IS NULL") == 1)
        }
    }

    @Test("an expired lease is stale, is reaped, and the work goes to someone else")
    func expiredLeaseIsReapedAndPulledAgain() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let shortQueue = fixture.queue(leaseDuration: .milliseconds(300))
            let first = try await fixture.user("first")
            let second = try await fixture.user("second")
            let id = try await fixture.receive("E1")
            let lease = try #require(try await shortQueue.pullNext(userID: first, queue: .coding, audit: .system))
            #expect(try await shortQueue.pullNext(userID: second, queue: .coding, audit: .system) == nil)

            try await Task.sleep(for: .milliseconds(500))
            // Expired but not yet reaped: still refused.
            try await expectStale(fixture, encounterID: id, leaseID: lease.id, holder: first)

            #expect(try await fixture.queue.reapExpiredLeases() == 1)
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'lease.expired'") == 1)

            let again = try #require(try await fixture.queue.pullNext(userID: second, queue: .coding, audit: .system))
            #expect(again.encounterID == id)
            #expect(again.id != lease.id)
            try await fixture.queue.finish(
                encounterID: id, leaseID: again.id, holder: second, queue: .coding, to: .coded,
                action: "coding.completed", audit: .system
            )
            #expect(try await fixture.encounters.stage(of: id) == .coded)
            try await expectStale(fixture, encounterID: id, leaseID: lease.id, holder: first)
        }
    }

    @Test("reassignment kills the old lease at once; the new holder completes")
    func reassignedLeaseIsStale() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let first = try await fixture.user("first")
            let second = try await fixture.user("second")
            let supervisor = try await fixture.user("boss", roles: [.supervisor])
            let id = try await fixture.receive("E1")
            let old = try #require(try await fixture.queue.pullNext(userID: first, queue: .coding, audit: .system))

            let new = try await fixture.queue.reassign(
                encounterID: id, to: second, reason: "first is out sick", audit: AuditContext(actorID: supervisor)
            )
            #expect(new.holder == second)
            #expect(new.id != old.id)
            try await expectStale(fixture, encounterID: id, leaseID: old.id, holder: first)
            #expect(try await fixture.encounters.stage(of: id) == .coding)

            try await fixture.queue.finish(
                encounterID: id, leaseID: new.id, holder: second, queue: .coding, to: .coded,
                action: "coding.completed", audit: .system
            )
            #expect(try await fixture.encounters.stage(of: id) == .coded)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM events WHERE action = 'work.reassigned' AND actor_id = \(supervisor)"
                ) == 1
            )

            // An assignee outside the practice (or without the role) is refused.
            let outsider = try await Fixture.make(client, code: "ELSE").user("outsider")
            let next = try await fixture.receive("E2")
            await #expect(throws: StoreError.self) {
                _ = try await fixture.queue.reassign(encounterID: next, to: outsider, reason: nil, audit: .system)
            }
            #expect(try await fixture.encounters.stage(of: next) == .readyToCode)
        }
    }

    @Test("a live lease heartbeats to a later expiry; a supervisor release kills it")
    func heartbeatAndSupervisorRelease() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let id = try await fixture.receive("E1")
            let lease = try #require(try await fixture.queue.pullNext(userID: coder, queue: .coding, audit: .system))
            // Time enough for the database clock to move on, so a real extension is visible.
            try await Task.sleep(for: .milliseconds(50))
            let beat = try await fixture.queue.heartbeat(encounterID: id, leaseID: lease.id, holder: coder)
            #expect(beat.expiresAt > lease.expiresAt, "the heartbeat did not move the expiry on")
            #expect(beat.id == lease.id && beat.holder == coder)
            // The later expiry is the one stored, not just the one returned.
            let stored = try #require(
                try await fixture.client.query(
                    "SELECT lease_expires_at FROM work_items WHERE encounter_id = \(id)", logger: TestDatabase.logger
                ).decode(Date.self).first { _ in true }
            )
            #expect(stored == beat.expiresAt)

            try await fixture.queue.releaseLease(encounterID: id, reason: "rebalancing", audit: .system)
            try await expectStale(fixture, encounterID: id, leaseID: lease.id, holder: coder)
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode)
        }
    }

    @Test("a wait with nothing arriving ends empty at its deadline")
    func waitTimesOut() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let signals = WorkSignals()
            let deadline = Duration.milliseconds(300)
            let clock = ContinuousClock()
            let started = clock.now
            let lease = try await fixture.queue.pullNext(
                userID: coder, queue: .coding, audit: .system, wait: deadline, signals: signals
            )
            let waited = clock.now - started
            #expect(lease == nil)
            #expect(waited >= deadline, "gave up after \(waited), before its deadline")
            // Nothing waits forever; the bound is loose because the whole suite shares two cores.
            #expect(waited < deadline + .seconds(60), "waited \(waited) for a deadline of \(deadline)")
            #expect(await signals.waiterCount(for: .coding) == 0)
        }
    }

    @Test("shutDown wakes a waiting puller at once, empty-handed, and later pulls take no lease though work is there")
    func shutDownEndsWaits() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let signals = WorkSignals()
            let queue = fixture.queue
            let clock = ContinuousClock()
            let waiting = Task {
                try await queue.pullNext(userID: coder, queue: .coding, audit: .system, wait: .seconds(30), signals: signals)
            }
            let registeredBy = clock.now + .seconds(10)
            while await signals.waiterCount(for: .coding) == 0 && clock.now < registeredBy {
                try await Task.sleep(for: .milliseconds(10))
            }
            try #require(await signals.waiterCount(for: .coding) == 1, "the puller never started waiting")

            let stopped = clock.now
            await signals.shutDown()
            #expect(try await waiting.value == nil)
            let woken = clock.now - stopped
            #expect(woken < .seconds(5), "the waiting puller took \(woken) to wake")
            #expect(await signals.waiterCount(for: .coding) == 0)

            // Work that arrives now stays in the queue: no lease once shutdown began.
            let id = try await fixture.receive("E1")
            let started = clock.now
            let late = try await queue.pullNext(
                userID: coder, queue: .coding, audit: .system, wait: .seconds(30), signals: signals
            )
            #expect(late == nil)
            #expect(clock.now - started < .seconds(5))
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode)
        }
    }

    /// Every holder's write with a dead lease is refused as stale.
    private func expectStale(_ fixture: Fixture, encounterID: UUID, leaseID: UUID, holder: UUID) async throws {
        let queue = fixture.queue
        let finishing = await #expect(throws: StoreError.self) {
            try await queue.finish(
                encounterID: encounterID, leaseID: leaseID, holder: holder, queue: .coding, to: .coded,
                action: "coding.completed", audit: .system
            )
        }
        #expect(finishing?.code == .staleLease)
        let beating = await #expect(throws: StoreError.self) {
            _ = try await queue.heartbeat(encounterID: encounterID, leaseID: leaseID, holder: holder)
        }
        #expect(beating?.code == .staleLease)
        let releasing = await #expect(throws: StoreError.self) {
            try await queue.release(encounterID: encounterID, leaseID: leaseID, holder: holder, reason: nil, audit: .system)
        }
        #expect(releasing?.code == .staleLease)
        let writing = await #expect(throws: StoreError.self) {
            try await fixture.client.transaction(logger: TestDatabase.logger) { connection in
                try await queue.requireLiveLease(
                    encounterID: encounterID, leaseID: leaseID, holder: holder, on: connection
                )
            }
        }
        #expect(writing?.code == .staleLease)
    }
}
