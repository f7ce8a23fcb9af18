import ClaimFlowCore
public import ClaimFlowStore
import Foundation
public import Logging
import Metrics
public import PostgresNIO

/// Enforces the handoff from coding to billing: every coded encounter is checked against the
/// handoff rules and either becomes claim version N in the billing queue, or goes back to
/// coding with every finding listed.
///
/// Each encounter is checked in a transaction of its own, locked with `FOR UPDATE SKIP LOCKED`,
/// so several workers (in one process or many) share the work without taking the same
/// encounter, and a worker that dies mid-check leaves nothing half-done. One that fails with an
/// error (a constraint, a trigger, a snapshot the store cannot read) rolls back alone: its
/// attempt is recorded in `worker_failures` with the error's code and retried with exponential
/// backoff; the attempt that reaches the policy's limit parks it for a supervisor
/// (`GET /supervisor/failures`). The rest of the queue keeps moving.
///
/// It keeps up with the coders: up to `parallelism` checks run at once, a full batch makes
/// the next one twice as large (up to eight times the base size) and one that is not full
/// brings it back, and with ``WorkSignals`` it is woken by the database's notification of an
/// encounter coded instead of waiting out its interval.
public struct HandoffWorker: PeriodicWork {
    public let name = "handoff check"
    /// The pool, the logger, and where transitions and findings are counted: the process's
    /// metrics unless a test brings its own.
    let database: Database
    let batchSize: Int
    /// The pause after a batch that was not full.
    public let interval: Duration
    /// How long a returned encounter is offered only to the coder who coded it.
    let offerToCoderFor: Duration
    /// Backoff and attempt limit for an encounter whose check fails with an error.
    let retry: WorkerFailureStore.RetryPolicy
    /// Checks run at once, each in a transaction of its own.
    let parallelism: Int
    /// Where the notification of an encounter coded arrives; nil to poll at `interval` only.
    let signals: WorkSignals?
    /// The size of the next batch: `batchSize`, doubled after each full batch.
    private var nextBatch: Int
    /// The coded-notification generation seen when the last pass began: a notification after
    /// it ends the pause at once.
    private var seenCoded: UInt64 = 0

    public init(
        client: PostgresClient,
        logger: Logger,
        batchSize: Int = 50,
        idleInterval: Duration = .milliseconds(500),
        offerToCoderFor: Duration = .seconds(3600),
        retry: WorkerFailureStore.RetryPolicy = WorkerFailureStore.RetryPolicy(),
        metrics: StoreMetrics = StoreMetrics(),
        parallelism: Int = 4,
        signals: WorkSignals? = nil
    ) {
        self.database = Database(client: client, logger: logger, metrics: metrics)
        self.batchSize = batchSize
        self.interval = idleInterval
        self.offerToCoderFor = offerToCoderFor
        self.retry = retry
        self.parallelism = max(1, parallelism)
        self.signals = signals
        self.nextBatch = batchSize
    }

    public var logger: Logger { database.logger }

    /// What one batch did.
    public struct BatchResult: Sendable, Hashable {
        public var passed = 0
        public var returned = 0
        /// Checks that failed with an error: recorded for a later attempt, or parked.
        public var failed = 0
        /// Of the failed, those parked by this attempt.
        public var parked = 0
        /// Encounters that were due when the batch began (some may have gone to another worker).
        public var candidates = 0
        public var total: Int { passed + returned }

        public init() {}
    }

    /// One batch; a full one means more coded encounters are probably waiting.
    public mutating func runPass() async throws -> PassOutcome {
        if let signals { seenCoded = await signals.generation(of: .coded) }
        let limit = nextBatch
        let result = try await runBatch(limit: limit)
        if result.total + result.failed > 0 {
            logger.info(
                "handoff batch",
                metadata: ["passed": "\(result.passed)", "returned": "\(result.returned)", "failed": "\(result.failed)"]
            )
        }
        let full = result.candidates >= limit
        nextBatch = full ? min(limit * 2, batchSize * 8) : batchSize
        return full ? .full : .done
    }

    public func idle(for duration: Duration) async throws {
        guard let signals else { return try await Task.sleep(for: duration) }
        await signals.wait(for: .coded, after: seenCoded, until: .now + duration)
        try Task.checkCancellation()
    }

    /// How one encounter's check ended.
    enum Outcome { case passed, returned, taken }

    /// Checks up to one batch of due coded encounters (`limit`, else the base batch size),
    /// `parallelism` at a time, each in a transaction of its own.
    public func runBatch(limit: Int? = nil) async throws -> BatchResult {
        let claims = ClaimStore(queue: WorkQueue(database: database))
        var result = BatchResult()
        let candidates = try await claims.handoffCandidates(limit: limit ?? batchSize)
        result.candidates = candidates.count
        try await withThrowingTaskGroup(of: Checked.self) { group in
            var pending = candidates.makeIterator()
            for _ in 0..<parallelism {
                guard let id = pending.next() else { break }
                group.addTask { try await checkOrRecord(id) }
            }
            while let checked = try await group.next() {
                switch checked {
                case .passed: result.passed += 1
                case .returned: result.returned += 1
                case .taken: break
                case .failed(let parked):
                    result.failed += 1
                    if parked { result.parked += 1 }
                }
                if let id = pending.next() { group.addTask { try await checkOrRecord(id) } }
            }
        }
        return result
    }

    /// How one encounter's check ended, a failure recorded included.
    enum Checked: Sendable {
        case passed, returned, taken
        case failed(parked: Bool)
    }

    /// Checks one encounter; a check that fails with an error of the encounter's (not of the
    /// connection) is recorded for a later attempt, or parked.
    private func checkOrRecord(_ id: UUID) async throws -> Checked {
        do {
            switch try await check(id) {
            case .passed: return .passed
            case .returned: return .returned
            case .taken: return .taken
            }
        } catch let error as PSQLError where error.serverInfo == nil {
            // The connection, not the encounter, failed: nothing to hold against it.
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let code = failureCode(of: error)
            let failure = try await WorkerFailureStore(database: database).recordHandoffFailure(
                encounterID: id, error: code, policy: retry)
            let parked = failure?.state == .parked
            logger.log(
                level: parked ? .error : .warning,
                parked ? "handoff check failed; parked for a supervisor" : "handoff check failed; it will be tried again",
                metadata: ["encounter_id": "\(id)", "attempts": "\(failure?.attempts ?? 0)", "error": "\(code)"]
            )
            return .failed(parked: parked)
        }
    }

    /// Locks and checks one encounter in its own transaction: on to billing, or back to coding
    /// with its findings; `.taken` when another worker has it or has already handed it off.
    private func check(_ id: UUID) async throws -> Outcome {
        let queue = WorkQueue(database: database)
        let coding = CodingStore(queue: queue)
        let claims = ClaimStore(queue: queue)
        let codeSets = CodeSetStore(database: database)
        let metrics = database.metrics
        return try await database.client.transaction(logger: logger) { connection in
            guard try await claims.lockForHandoff(id, on: connection),
                let draft = try await coding.draft(of: id, on: connection)
            else { return .taken }
            let facts = try await codeSets.facts(for: draft, on: connection)
            let findings = CodingRules.check(draft, facts: facts)
            for finding in findings {
                Counter(label: "claimflow_handoff_findings_total", dimensions: [("rule", finding.rule)], factory: metrics.factory)
                    .increment()
            }
            let outcome: Outcome
            if CodingRules.blocks(findings) {
                try await coding.returnFromHandoff(encounterID: id, findings: findings, offerFor: offerToCoderFor, on: connection)
                outcome = .returned
            } else {
                try await claims.handOff(encounterID: id, audit: .system, on: connection)
                outcome = .passed
            }
            try await claims.handoffSucceeded(id, on: connection)
            return outcome
        }
    }
}
