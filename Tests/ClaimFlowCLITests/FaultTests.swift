import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults under load, against real `claimflow serve` processes on loopback: the process killed,
/// PostgreSQL restarted, a graceful stop. Each test is bounded in time and in requests, and
/// prints its figures (requests answered, rows checked, lost, duplicates).
@Suite("faults under load", .serialized)
struct FaultTests {
    @Test(
        "kill -9 of serve under 8 coders and 2 billers, then a restart: every 2xx is in the database, nothing coded or submitted twice, the dead process's leases come back"
    )
    func killNine() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_kill")
        defer { Task { try? await TestDatabase.drop(url) } }
        let scene = try await FaultScene.make(url, encounters: 400)
        let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-kill-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: outbox) }
        let arguments = ["--log-level", "notice", "--lease-seconds", "10", "--outbox", outbox.path]
        let tally = LoadTally()

        // First process: load for a few seconds, then SIGKILL in the middle of it.
        let first = try await ServedClaimFlow.start(arguments, environment: environment)
        let power = LoadSwitch()
        let load = Task { await FaultLoad.run(port: first.port, coders: scene.coders, billers: scene.billers, power: power, tally: tally) }
        // Two seconds in, then the moment leases are held: a fixed five seconds could come after
        // the coders had coded all 400 and no request held one.
        try await Task.sleep(for: .seconds(2))
        let leased = try await eventually(within: .seconds(10)) { try await !leaseIDs(url).isEmpty }
        first.process.signal(SIGKILL)
        await power.turnOff()
        await load.value
        _ = try? await first.process.wait(timeout: .seconds(10))
        let deadLeases = try await leaseIDs(url)
        let firstSummary = await tally.summary

        // Second process on the same database: the dead leases expire and the reaper returns them.
        let second = try await ServedClaimFlow.start(arguments, environment: environment)
        let returned = try await eventually(within: .seconds(45)) {
            try await CLIDatabase.integer(url, "SELECT count(*)::int FROM work_items WHERE lease_id = ANY(\(deadLeases))") == 0
        }
        let reaped = try await CLIDatabase.integer(url, "SELECT count(*)::int FROM events WHERE action = 'lease.expired'")
        let power2 = LoadSwitch()
        let load2 = Task {
            await FaultLoad.run(port: second.port, coders: scene.coders, billers: scene.billers, power: power2, tally: tally)
        }
        try await Task.sleep(for: .seconds(4))
        await power2.turnOff()
        await load2.value
        let stopped = try await second.stop(signal: SIGTERM, timeout: .seconds(30))

        let (checked, lost, duplicates) = try await FaultLoad.audit(url, tally: tally)
        let summary = await tally.summary
        print(
            "kill -9 under load: before the kill \(firstSummary); in all \(summary); \(deadLeases.count) leases held by the"
                + " dead process, \(returned ? "all" : "not all") back in the queue (\(reaped) reap events); rows checked \(checked),"
                + " lost \(lost), duplicates found \(duplicates)"
        )
        #expect(leased && !deadLeases.isEmpty, "the kill came while work was leased")
        #expect(returned, "the dead process's leases came back after expiry")
        #expect(reaped >= deadLeases.count, "the reaper returned them")
        #expect(lost == 0)
        #expect(duplicates == 0)
        #expect(await tally.completedEncounters.count > 0)
        #expect(await tally.submittedClaims.count > 0)
        #expect(await tally.serverErrors == 0, "\(summary)")
        #expect(stopped.status == 0)
    }

    @Test(
        "PostgreSQL restarted twice under load: every request answered, 503 with Retry-After while it is down, /readyz says so, recovery within 10 s without a restart, workers resume, LISTEN is back, SIGTERM still works"
    )
    func databaseRestart() async throws {
        let postgres = try await PrivatePostgres.start()
        defer { Task { await postgres.remove() } }
        let environment: [String: String?] = ["DATABASE_URL": postgres.url]
        let migrate = try await ClaimFlowProcess.run(["migrate"], environment: environment)
        try #require(migrate.status == 0, "claimflow migrate: \(migrate.standardError.suffix(2000))")
        let url = try DatabaseURL(postgres.url)
        let scene = try await FaultScene.make(url, encounters: 400)
        let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-restart-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: outbox) }

        let server = try await ServedClaimFlow.start(["--log-level", "notice", "--outbox", outbox.path], environment: environment)
        let tally = LoadTally()
        let power = LoadSwitch()
        let readiness = ReadinessWatch(port: server.port)
        let watch = Task { await readiness.run() }
        let load = Task { await FaultLoad.run(port: server.port, coders: scene.coders, billers: scene.billers, power: power, tally: tally) }

        var recoveries: [Duration] = []
        var unavailableWhileDown: [Int] = []
        for _ in 0..<2 {
            try await Task.sleep(for: .seconds(3))
            try await postgres.stop()
            let downAt = ContinuousClock.now
            let before = await tally.unavailable
            try await Task.sleep(for: .seconds(3))
            unavailableWhileDown.append(await tally.unavailable - before)
            try await postgres.restart()
            let upAt = ContinuousClock.now
            #expect(await readiness.sawUnavailable(after: downAt), "/readyz said 503 while the database was down")
            let ready = try await eventually(within: .seconds(30)) { await readiness.ready(after: upAt) }
            #expect(ready, "/readyz said 200 again")
            recoveries.append((await readiness.firstReady(after: upAt) ?? .now) - upAt)
        }
        try await Task.sleep(for: .seconds(3))
        await power.turnOff()
        await load.value

        // The handoff worker and the batcher resume by themselves: nothing stays coded, every
        // submitted claim goes out in an interchange.
        let (handedOff, batched) = try await FaultLoad.workersCaughtUp(url, within: .seconds(30))
        let interchanges = try await CLIDatabase.integer(url, "SELECT count(*)::int FROM interchange_claims")

        // LISTEN is back: a session listens, and a puller waiting on an empty queue is woken by new work.
        let listeners = try await CLIDatabase.integer(
            url, "SELECT count(*)::int FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND application_name = 'claimflow'")
        let wake = try await wakeUp(port: server.port, token: scene.idleCoders[0], url: url)

        let signalled = ContinuousClock.now
        server.process.signal(SIGTERM)
        let outcome = try await server.process.wait(timeout: .seconds(30))
        let exitAfter = ContinuousClock.now - signalled
        watch.cancel()

        let (checked, lost, duplicates) = try await FaultLoad.audit(url, tally: tally)
        let summary = await tally.summary
        let badUnavailable = await tally.badUnavailable
        let unanswered = await tally.transportErrors
        print(
            "PostgreSQL restarted twice under load: \(summary); 503 while down: \(unavailableWhileDown);"
                + " recovered in \(recoveries.map { $0.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))) });"
                + " \(interchanges) claims in interchanges; a waiting puller woken \(wake.map { "\($0)" } ?? "never") after new work;"
                + " \(listeners) listening session(s); SIGTERM exit after \(exitAfter); rows checked \(checked), lost \(lost), duplicates found \(duplicates)"
        )
        #expect(unanswered.isEmpty, "requests never answered: \(unanswered.prefix(5))")
        #expect(badUnavailable.isEmpty, "503s without problem+json or Retry-After: \(badUnavailable.prefix(5))")
        #expect(unavailableWhileDown.allSatisfy { $0 > 0 }, "503 answers while the database was down")
        #expect(await tally.serverErrors == 0, "no 5xx but 503: \(summary)")
        #expect(recoveries.count == 2 && recoveries.allSatisfy { $0 < .seconds(10) }, "recoveries: \(recoveries)")
        #expect(handedOff, "no encounter left in coded")
        #expect(batched, "every submitted claim went out")
        #expect(listeners >= 1)
        #expect(wake != nil && wake! < .seconds(2), "woken after \(String(describing: wake))")
        #expect(lost == 0)
        #expect(duplicates == 0)
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(2000))")
        #expect(exitAfter < .seconds(10))
    }

    @Test(
        "SIGTERM under load with 8 open long polls: no new leases, in-flight requests finish, long polls answer 204 at once, exit within 10 s"
    )
    func sigtermUnderLoad() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_term")
        defer { Task { try? await TestDatabase.drop(url) } }
        let scene = try await FaultScene.make(url, encounters: 400, idleCoders: 8)
        let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-term-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: outbox) }
        let server = try await ServedClaimFlow.start(["--log-level", "notice", "--outbox", outbox.path], environment: environment)

        let tally = LoadTally()
        let power = LoadSwitch()
        let load = Task { await FaultLoad.run(port: server.port, coders: scene.coders, billers: scene.billers, power: power, tally: tally) }
        let polls = Task {
            await withTaskGroup(of: (Int?, ContinuousClock.Instant).self) { group in
                for token in scene.idleCoders {
                    group.addTask {
                        let status = try? await TestClient.withClient(
                            host: "127.0.0.1", port: server.port, configuration: .init(timeout: .seconds(40))
                        ) { client in
                            try await FaultClient(client: client, tally: LoadTally()).send(
                                .post, "/api/v1/coder/next?wait=30", token: token
                            ).status
                        }
                        return (status, .now)
                    }
                }
                var answers: [(Int?, ContinuousClock.Instant)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
        }
        try await Task.sleep(for: .seconds(4))
        let pulledBefore = try await CLIDatabase.integer(url, "SELECT count(*)::int FROM events WHERE action = 'work.pulled'")
        // The load stops sending new requests; those in flight must finish.
        await power.turnOff()
        let signalled = ContinuousClock.now
        server.process.signal(SIGTERM)
        // Work that arrives after the signal must not be handed to the waiting pullers.
        try? await FaultScene.arriveIdle(url, externalID: "AFTER-SIGTERM")
        let outcome = try await server.process.wait(timeout: .seconds(30))
        let exitAfter = ContinuousClock.now - signalled
        await load.value
        let answers = await polls.value

        let pulledAfter = try await CLIDatabase.integer(url, "SELECT count(*)::int FROM events WHERE action = 'work.pulled'")
        let idleLeased = try await CLIDatabase.integer(
            url,
            "SELECT count(*)::int FROM work_items w JOIN practices p ON p.id = w.practice_id WHERE p.code = 'IDLE' AND w.lease_id IS NOT NULL"
        )
        let leasesAnswered = await tally.leases.count
        let (checked, lost, duplicates) = try await FaultLoad.audit(url, tally: tally)
        let slowest = answers.map { $0.1 - signalled }.max() ?? .zero
        // A request sent just as the server closes an idle keep-alive connection is lost in the
        // socket (the usual keep-alive race): only those sent well before the signal must be answered.
        let inFlightUnanswered = await tally.unanswered(sentIn: ContinuousClock.now - .seconds(3600)..<(signalled - .milliseconds(100)))
        let errors = await tally.transportErrors
        let lateUnanswered = await tally.unanswered(sentIn: (signalled - .milliseconds(100))..<ContinuousClock.now)
        print(
            "SIGTERM under load: \(await tally.summary) (\(inFlightUnanswered) sent before the signal and \(lateUnanswered) sent as it came unanswered); long polls \(answers.map { $0.0.map(String.init) ?? "none" }),"
                + " slowest \(slowest) after SIGTERM; exit after \(exitAfter); leases pulled \(pulledAfter) (answered \(leasesAnswered),"
                + " \(pulledAfter - pulledBefore) during the stop); rows checked \(checked), lost \(lost), duplicates found \(duplicates)"
        )
        #expect(answers.count == 8 && answers.allSatisfy { $0.0 == 204 }, "long polls: \(answers.map { $0.0 })")
        #expect(slowest < .seconds(10))
        #expect(inFlightUnanswered == 0, "in-flight requests not answered: \(errors.prefix(5))")
        // Every lease in the database was handed to a client that got it; none went to the long polls.
        #expect(pulledAfter == leasesAnswered)
        #expect(idleLeased == 0)
        #expect(lost == 0)
        #expect(duplicates == 0)
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(2000))")
        #expect(exitAfter < .seconds(10))
    }

    /// The lease ids in the work queue now.
    private func leaseIDs(_ url: DatabaseURL) async throws -> [UUID] {
        try await TestDatabase.withClient(url, maximumConnections: 1) { client in
            var ids: [UUID] = []
            let rows = try await client.query("SELECT lease_id FROM work_items WHERE lease_id IS NOT NULL", logger: TestDatabase.logger)
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            return ids
        }
    }

    /// How long a puller long-polling an empty queue waits after an encounter arrives in it.
    private func wakeUp(port: Int, token: String, url: DatabaseURL) async throws -> Duration? {
        let poll = Task { () -> (Int?, ContinuousClock.Instant) in
            let status = try? await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(30))) {
                client in
                try await FaultClient(client: client, tally: LoadTally()).send(.post, "/api/v1/coder/next?wait=20", token: token).status
            }
            return (status, .now)
        }
        try await Task.sleep(for: .seconds(2))
        try await FaultScene.arriveIdle(url, externalID: "WAKE-\(UUID().uuidString.prefix(6))")
        let arrived = ContinuousClock.now
        let (status, at) = await poll.value
        return status == 200 ? at - arrived : nil
    }

}

/// `/readyz` asked every 200 ms, each answer kept with its time.
actor ReadinessWatch {
    let port: Int
    private var answers: [(at: ContinuousClock.Instant, status: Int)] = []

    init(port: Int) { self.port = port }

    func run() async {
        // Bounded: a few minutes at most, and the test cancels it.
        for _ in 0..<1500 where !Task.isCancelled {
            let port = self.port
            let status = try? await within(.seconds(10)) {
                try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                    Int(try await client.get("/readyz").status.code)
                }
            }
            if let status { answers.append((.now, status)) }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    func sawUnavailable(after instant: ContinuousClock.Instant) -> Bool {
        answers.contains { $0.at > instant && $0.status == 503 }
    }

    func firstReady(after instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        answers.first { $0.at > instant && $0.status == 200 }?.at
    }

    func ready(after instant: ContinuousClock.Instant) -> Bool { firstReady(after: instant) != nil }
}
