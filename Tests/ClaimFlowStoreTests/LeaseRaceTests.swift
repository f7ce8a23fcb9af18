import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

/// A holder's write racing the loss of its lease, run many times over with both sides
/// concurrent: exactly one side wins each time, and a holder that loses is refused as stale
/// and changes nothing.
@Suite("Lease races on a real PostgreSQL")
struct LeaseRaceTests {
    /// What takes the lease away from the holder.
    enum Opponent: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case expiry = "expiry, then the reaper"
        case reassignment = "reassignment to another coder"
        case reassignmentToHolder = "reassignment to the same coder"
        case release = "a supervisor's release"

        var testDescription: String { rawValue }
    }

    /// How the holder writes: completing in one fenced statement, or a slow transaction that
    /// checks its lease with `requireLiveLease`, amends the documentation and then completes.
    enum Write: Sendable {
        case complete
        case amendThenComplete
    }

    /// Who goes first: most iterations race freely; a few put one side first, so that both
    /// outcomes are seen however the free races fall.
    enum Order: Sendable {
        case race
        case holderFirst
        case opponentFirst
    }

    struct HolderOutcome: Sendable {
        var wrote = false
        var refusal: StoreError?
        /// The holder's transaction saw, before its commit, that its lease was no longer the
        /// live one: a write landing under a lease already taken away.
        var sawItsLeaseGone = false
    }

    static let iterations = 50
    static let amendment = " Amended under the lease."

    @Test(
        "a holder's write racing the loss of its lease: exactly one side wins; the stale lease is refused and changes nothing",
        arguments: Opponent.allCases
    )
    func holderRacesOpponent(_ opponent: Opponent) async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let holder = try await fixture.user("holder")
            let other = try await fixture.user("other")
            let supervisor = try await fixture.user("boss", roles: [.supervisor])
            // Expiry needs a lease that ends within the test; the others never let it run out.
            let queue = fixture.queue(leaseDuration: opponent == .expiry ? .milliseconds(400) : .seconds(900))
            var holderWins = 0
            var opponentWins = 0
            for iteration in 0..<Self.iterations {
                let id = try await fixture.receive("RACE-\(iteration)")
                let documentation = try await Self.documentation(of: id, fixture)
                let lease = try await queue.reassign(encounterID: id, to: holder, reason: "race", audit: .system)
                let write: Write = iteration.isMultiple(of: 2) ? .complete : .amendThenComplete
                let order: Order =
                    switch iteration % 10 {
                    case 0, 1: .holderFirst
                    case 5, 6: .opponentFirst
                    default: .race
                    }
                let holderSide = { @Sendable () async throws -> HolderOutcome in
                    if order == .race { try await Self.sleepUntilRace(opponent, lease: lease) }
                    return try await Self.holderWrites(write, id: id, lease: lease, holder: holder, queue: queue, fixture)
                }
                let opponentSide = { @Sendable () async throws -> Bool in
                    try await Self.opponentActs(
                        opponent, id: id, lease: lease, other: other, holder: holder, supervisor: supervisor, fixture)
                }
                let outcome: HolderOutcome
                let opponentWon: Bool
                switch order {
                case .holderFirst:
                    outcome = try await holderSide()
                    opponentWon = try await opponentSide()
                case .opponentFirst:
                    opponentWon = try await opponentSide()
                    outcome = try await holderSide()
                case .race:
                    async let racingHolder = holderSide()
                    async let racingOpponent = opponentSide()
                    (outcome, opponentWon) = try await (racingHolder, racingOpponent)
                }

                let place = "iteration \(iteration) (\(write), \(order))"
                #expect(outcome.wrote != opponentWon, "\(place): holder wrote \(outcome.wrote), opponent won \(opponentWon)")
                #expect(!outcome.sawItsLeaseGone, "\(place): the holder's write went on after its lease was taken away")
                let completed = try await fixture.count(
                    "SELECT count(*)::int FROM events WHERE encounter_id = \(id) AND action = 'coding.completed'")
                let opponentEvents = try await fixture.count(
                    "SELECT count(*)::int FROM events WHERE encounter_id = \(id) AND action = \(opponent.action)")
                // The setup's own assignment is a reassignment too.
                let setupEvents = opponent.action == "work.reassigned" ? 1 : 0
                if outcome.wrote {
                    holderWins += 1
                    #expect(try await fixture.encounters.stage(of: id) == .coded, "\(place)")
                    #expect(completed == 1, "\(place)")
                    #expect(opponentEvents == setupEvents, "\(place): the opponent acted too")
                    #expect(try await Self.workItems(of: id, fixture) == 0, "\(place)")
                    let amended = try await Self.documentation(of: id, fixture)
                    #expect(amended == documentation + (write == .amendThenComplete ? Self.amendment : ""), "\(place)")
                } else {
                    opponentWins += 1
                    #expect(outcome.refusal?.code == .staleLease, "\(place): \(String(describing: outcome.refusal))")
                    // The stale write changed nothing: no completion, no coder, no amendment.
                    #expect(completed == 0, "\(place)")
                    #expect(try await Self.documentation(of: id, fixture) == documentation, "\(place)")
                    #expect(
                        try await fixture.count("SELECT count(*)::int FROM encounters WHERE id = \(id) AND coded_by IS NULL") == 1,
                        "\(place)")
                    #expect(opponentEvents == setupEvents + 1, "\(place)")
                    try await Self.expectOpponentsState(opponent, id: id, old: lease, other: other, holder: holder, place, fixture)
                }
            }
            #expect(holderWins + opponentWins == Self.iterations)
            #expect(holderWins > 0 && opponentWins > 0, "holder won \(holderWins), opponent \(opponentWins)")
        }
    }

    /// In a free race, the expiry case aims the holder's write at the moment the lease runs
    /// out (a little before or after, by turns); the other cases start both sides at once.
    static func sleepUntilRace(_ opponent: Opponent, lease: Lease) async throws {
        guard opponent == .expiry else { return }
        let offset = Double(Int.random(in: -60...60)) / 1000
        let delay = lease.expiresAt.timeIntervalSinceNow + offset
        if delay > 0 { try await Task.sleep(for: .seconds(delay)) }
    }

    static func holderWrites(
        _ write: Write, id: UUID, lease: Lease, holder: UUID, queue: WorkQueue, _ fixture: Fixture
    ) async throws -> HolderOutcome {
        var outcome = HolderOutcome()
        do {
            switch write {
            case .complete:
                try await queue.finish(
                    encounterID: id, leaseID: lease.id, holder: holder, queue: .coding, to: .coded, action: "coding.completed",
                    audit: .system
                )
            case .amendThenComplete:
                try await fixture.client.transaction(logger: TestDatabase.logger) { connection in
                    try await queue.requireLiveLease(encounterID: id, leaseID: lease.id, holder: holder, on: connection)
                    // A slow write, so the opponent has every chance to act in between.
                    try await connection.query("SELECT pg_sleep(0.02)", logger: TestDatabase.logger)
                    try await connection.query(
                        "UPDATE encounters SET documentation = documentation || \(Self.amendment) WHERE id = \(id)",
                        logger: TestDatabase.logger
                    )
                    // The lease as others have committed it: the fence keeps it ours until we commit.
                    let current = try await connection.query(
                        "SELECT lease_id FROM work_items WHERE encounter_id = \(id)", logger: TestDatabase.logger)
                    var live: UUID?
                    for try await leaseID in current.decode(UUID?.self) { live = leaseID }
                    if live != lease.id { outcome.sawItsLeaseGone = true }
                    try await queue.finish(
                        encounterID: id, leaseID: lease.id, holder: holder, queue: .coding, to: .coded,
                        action: "coding.completed", audit: .system, on: connection
                    )
                }
            }
            outcome.wrote = true
        } catch let error as StoreError {
            outcome.refusal = error
        }
        return outcome
    }

    /// The opponent's move; true when it took the lease away, false when it found the work
    /// already finished.
    static func opponentActs(
        _ opponent: Opponent, id: UUID, lease: Lease, other: UUID, holder: UUID, supervisor: UUID, _ fixture: Fixture
    ) async throws -> Bool {
        let audit = AuditContext(actorID: supervisor)
        switch opponent {
        case .expiry:
            // The reaper as it runs in production, but every few milliseconds from just before
            // the expiry: until it returns the lease, or finds the work gone.
            let early = lease.expiresAt.timeIntervalSinceNow - 0.05
            if early > 0 { try await Task.sleep(for: .seconds(early)) }
            let giveUp = lease.expiresAt.addingTimeInterval(10)
            while Date() < giveUp {
                if try await fixture.queue.reapExpiredLeases() > 0 { return true }
                if try await workItems(of: id, fixture) == 0 { return false }
                try await Task.sleep(for: .milliseconds(5))
            }
            Issue.record("the reaper neither returned the lease nor saw the work finished within 10 s of the expiry")
            return false
        case .reassignment, .reassignmentToHolder:
            do {
                _ = try await fixture.queue.reassign(
                    encounterID: id, to: opponent == .reassignment ? other : holder, reason: "race", audit: audit)
                return true
            } catch let error as StoreError where error.code == .notFound {
                return false
            }
        case .release:
            do {
                try await fixture.queue.releaseLease(encounterID: id, reason: "race", audit: audit)
                return true
            } catch let error as StoreError where error.code == .notFound {
                return false
            }
        }
    }

    /// Where the opponent left the work when it won.
    static func expectOpponentsState(
        _ opponent: Opponent, id: UUID, old: Lease, other: UUID, holder: UUID, _ place: String, _ fixture: Fixture
    ) async throws {
        let rows = try await fixture.client.query(
            "SELECT lease_id, lease_holder FROM work_items WHERE encounter_id = \(id)", logger: TestDatabase.logger)
        var items: [(UUID?, UUID?)] = []
        for try await row in rows.decode((UUID?, UUID?).self) { items.append(row) }
        try #require(items.count == 1, "\(place): \(items.count) work items")
        let (leaseID, leaseHolder) = items[0]
        switch opponent {
        case .expiry, .release:
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode, "\(place)")
            #expect(leaseID == nil && leaseHolder == nil, "\(place)")
        case .reassignment, .reassignmentToHolder:
            #expect(try await fixture.encounters.stage(of: id) == .coding, "\(place)")
            #expect(leaseID != nil && leaseID != old.id, "\(place)")
            #expect(leaseHolder == (opponent == .reassignment ? other : holder), "\(place)")
        }
    }

    static func workItems(of id: UUID, _ fixture: Fixture) async throws -> Int {
        try await fixture.count("SELECT count(*)::int FROM work_items WHERE encounter_id = \(id)")
    }

    static func documentation(of id: UUID, _ fixture: Fixture) async throws -> String {
        let rows = try await fixture.client.query("SELECT documentation FROM encounters WHERE id = \(id)", logger: TestDatabase.logger)
        for try await text in rows.decode(String.self) { return text }
        throw TestSetupError("no encounter \(id)")
    }
}

extension LeaseRaceTests.Opponent {
    /// The event the opponent's win writes.
    var action: String {
        switch self {
        case .expiry: "lease.expired"
        case .reassignment, .reassignmentToHolder: "work.reassigned"
        case .release: "work.released_by_supervisor"
        }
    }
}
