import ClaimFlowWorkers
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite("The worker loop every background worker runs in")
struct WorkerLoopTests {
    @Test("full passes follow one another at once; a done pass waits the interval")
    func fullPassesRunBackToBack() async throws {
        let script = Script([.full, .full, .full, .done])
        let work = ScriptedWork(interval: .seconds(3600), script: script)
        try await runUntilShutdown(WorkerLoop(work)) { trigger in
            // With an hour's interval, four passes come only if the full ones did not wait.
            try await eventually { await script.started == 4 }
            trigger.triggerGracefulShutdown()
        }
        #expect(await script.started == 4)
        #expect(await script.finished == 4)
    }

    @Test("a failed pass is logged and the loop goes on")
    func failureDoesNotEndTheLoop() async throws {
        let script = Script([.fail, .fail, .done, .done])
        let work = ScriptedWork(interval: .milliseconds(10), script: script)
        try await runUntilShutdown(WorkerLoop(work)) { trigger in
            try await eventually { await script.started >= 4 }
            trigger.triggerGracefulShutdown()
        }
        #expect(await script.finished >= 2)
    }

    @Test("graceful shutdown lets the pass in hand finish and starts no new one")
    func gracefulShutdownDrains() async throws {
        let script = Script([.hold, .full, .full])
        let work = ScriptedWork(interval: .milliseconds(10), script: script)
        try await runUntilShutdown(WorkerLoop(work)) { trigger in
            try await eventually { await script.started == 1 }
            trigger.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(50))
            await script.release()
        }
        #expect(await script.started == 1)
        #expect(await script.finished == 1)
    }

    /// Runs `loop` under a graceful-shutdown trigger that `drive` pulls, and waits for the loop
    /// to return.
    private func runUntilShutdown(
        _ loop: WorkerLoop<ScriptedWork>,
        drive: @Sendable (GracefulShutdownTestTrigger) async throws -> Void
    ) async throws {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await loop.run() }
                try await drive(trigger)
                try await group.next()
            }
        }
    }

    private func eventually(_ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while await !condition() {
            try #require(ContinuousClock.now < deadline, "the loop did not get there within 10 s")
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// The outcomes of successive passes; past the end, every pass is done.
actor Script {
    enum Step { case full, done, fail, hold }

    private var steps: [Step]
    private var held: CheckedContinuation<Void, Never>?
    private var releasedEarly = false
    private(set) var started = 0
    private(set) var finished = 0

    init(_ steps: [Step]) { self.steps = steps }

    func next() async throws -> PassOutcome {
        started += 1
        let step = steps.isEmpty ? .done : steps.removeFirst()
        switch step {
        case .fail:
            throw PassFailed()
        case .hold:
            if !releasedEarly { await withCheckedContinuation { held = $0 } }
            finished += 1
            return .full
        case .full:
            finished += 1
            return .full
        case .done:
            finished += 1
            return .done
        }
    }

    func release() {
        if let held {
            held.resume()
            self.held = nil
        } else {
            releasedEarly = true
        }
    }
}

struct PassFailed: Error {}

struct ScriptedWork: PeriodicWork {
    let name = "scripted work"
    let interval: Duration
    let logger = Logger(label: "claimflow.tests.worker-loop")
    let script: Script

    func runPass() async throws -> PassOutcome {
        try await script.next()
    }
}
