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

@Suite("claimflow serve shutdown")
struct ShutdownTests {
    /// What one long poll got, and when.
    struct Answer: Sendable {
        let queue: String
        let status: Int?
        let error: String?
        let at: ContinuousClock.Instant
    }

    /// The answers so far, so the test can tell that no poll has answered before the signal.
    actor Answers {
        private(set) var all: [Answer] = []
        func add(_ answer: Answer) { all.append(answer) }
    }

    @Test(
        "SIGTERM with 8 open long polls (wait=30) answers each 204 within seconds, hands out no lease, and serve exits 0 well before the polls would have ended"
    )
    func sigtermEndsLongPolls() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_stop")
        defer { Task { try? await TestDatabase.drop(url) } }
        // Four coders and four billers, each with its own token; the queues stay empty.
        let pullers = try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client)
            var pullers: [(queue: String, token: String)] = []
            for index in 0..<4 {
                for (queue, role) in [("coder", Role.coder), ("biller", Role.biller)] {
                    let id = try await fixture.user("\(queue)-\(index)", roles: [role])
                    pullers.append((queue, try await fixture.users.issueToken(userID: id, label: "t", audit: .system)))
                }
            }
            return pullers
        }

        let server = try await ServedClaimFlow.start(["--log-level", "notice"], environment: environment)
        let answers = Answers()
        let port = server.port
        let polls = Task {
            await withTaskGroup(of: Void.self) { group in
                for (queue, token) in pullers {
                    group.addTask {
                        let answer: Answer
                        do {
                            // A read timeout past the 30-second wait, so only the server ends the poll.
                            let status = try await TestClient.withClient(
                                host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(40))
                            ) { client in
                                try await APIClient(client: client).send(.post, "/api/v1/\(queue)/next?wait=30", token: token).status
                            }
                            answer = Answer(queue: queue, status: status, error: nil, at: .now)
                        } catch {
                            answer = Answer(queue: queue, status: nil, error: "\(error)", at: .now)
                        }
                        await answers.add(answer)
                    }
                }
            }
        }
        // Each poll looks once (one short query) and then waits: wait until the server counts all
        // eight waiting (its /metrics gauge), so SIGTERM meets them waiting however busy the
        // machine is.
        let arrived = ContinuousClock.now + .seconds(30)
        var waitingNow = 0
        while waitingNow < pullers.count, ContinuousClock.now < arrived {
            try await Task.sleep(for: .milliseconds(200))
            let metrics = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                try await APIClient(client: client).send(.get, "/metrics", token: nil).body
            }
            waitingNow =
                metrics.split(separator: "\n").first { $0.hasPrefix("claimflow_long_polls_waiting ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
        }
        #expect(waitingNow == pullers.count, "long polls waiting before the signal: \(waitingNow)")
        let early = await answers.all
        #expect(early.isEmpty, "long polls answered before the signal: \(early)")

        let signalled = ContinuousClock.now
        server.process.signal(SIGTERM)
        // Bounded: `wait` kills the process after 20 seconds, which also ends every poll.
        let exit = Task { () -> (Result<ClaimFlowProcess.Outcome, any Error>, Duration) in
            let outcome = await Result { try await server.process.wait(timeout: .seconds(20)) }
            return (outcome, ContinuousClock.now - signalled)
        }
        await polls.value
        let (outcome, secondsToExit) = await exit.value
        let all = await answers.all
        let answered = all.filter { $0.status == 204 }
        let slowest = all.map { $0.at - signalled }.max() ?? .zero
        print(
            "shutdown with 8 long polls: \(answered.count) of \(all.count) answered 204, slowest \(slowest) after SIGTERM;"
                + " exited \(secondsToExit) after SIGTERM"
        )

        #expect(all.count == 8)
        #expect(answered.count == 8, "answers: \(all.map { "\($0.queue): \($0.status.map(String.init) ?? $0.error ?? "")" })")
        // Well inside the 30-second wait, with room for a suite running on two busy cores.
        #expect(slowest < .seconds(15), "the slowest long poll answered \(slowest) after SIGTERM")
        switch outcome {
        case .success(let outcome):
            #expect(outcome.status == 0, "\(outcome.standardError.suffix(2000))")
        case .failure(let error):
            Issue.record("serve did not exit: \(error)")
        }
        #expect(secondsToExit < .seconds(20))
        #expect(try await CLIDatabase.integer(url, "SELECT count(*)::int FROM work_items WHERE lease_id IS NOT NULL") == 0)
        #expect(try await CLIDatabase.integer(url, "SELECT count(*)::int FROM events WHERE action = 'work.pulled'") == 0)
    }
}

extension Result where Failure == any Error {
    /// The result of an async throwing call.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
