import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

/// Tests with a bound in wall-clock time. scripts/test runs them on their own, after the rest
/// of the suite, so a busy two-core machine running a hundred other tests does not decide them.
@Suite("Latency")
struct LatencyTests {
    @Test("a waiting puller wakes within a second of an enqueue, by NOTIFY, not by polling")
    func waitingPullerWakesOnNotify() async throws {
        try await TestDatabase.withMigrated { client, url in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            // A fallback interval of a minute: if the wake came from anything but NOTIFY, the
            // puller would sleep far past the one-second bound below.
            let signals = WorkSignals(fallbackInterval: .seconds(60))
            let listener = Task {
                try await TestDatabase.withListenClient(url, sharing: client) { listening in
                    try await WorkNotifier(client: listening, signals: signals, logger: TestDatabase.logger).run()
                }
            }
            defer { listener.cancel() }
            for _ in 0..<500 where !(await signals.isListening) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(await signals.isListening)

            let clock = ContinuousClock()
            let waiter = Task {
                let lease = try await fixture.queue.pullNext(
                    userID: coder, queue: .coding, audit: .system, wait: .seconds(20), signals: signals
                )
                return (lease, clock.now)
            }
            // Enqueue only once the puller has looked, found nothing and is registered as
            // waiting: an enqueue before that would be found by its first look, with no NOTIFY.
            let registeredBy = clock.now + .seconds(10)
            while await signals.waiterCount(for: .coding) == 0 && clock.now < registeredBy {
                try await Task.sleep(for: .milliseconds(10))
            }
            try #require(await signals.waiterCount(for: .coding) == 1, "the puller never started waiting")
            // The NOTIFY leaves when the intake transaction commits, which is when receive returns.
            let id = try await fixture.receive("LATE")
            let enqueuedAt = clock.now
            let (lease, wokeAt) = try await waiter.value
            #expect(lease?.encounterID == id)
            #expect(wokeAt - enqueuedAt < .seconds(1), "woke \(wokeAt - enqueuedAt) after the enqueue")
            #expect(await signals.waiterCount(for: .coding) == 0)
        }
    }
}
