import ClaimFlowCore
public import ClaimFlowStore
public import Logging
import Metrics
public import PostgresNIO

/// Enforces the handoff from coding to billing: every coded encounter is checked against the
/// handoff rules and either becomes claim version N in the billing queue, or goes back to
/// coding with every finding listed.
///
/// Encounters are taken in batches with `FOR UPDATE SKIP LOCKED`, so several workers (in one
/// process or many) share the work without taking the same encounter. A batch is one
/// transaction: a worker that dies mid-batch leaves nothing half-done, and another worker
/// takes the batch again.
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

    public init(
        client: PostgresClient,
        logger: Logger,
        batchSize: Int = 50,
        idleInterval: Duration = .milliseconds(500),
        offerToCoderFor: Duration = .seconds(3600),
        metrics: StoreMetrics = StoreMetrics()
    ) {
        self.database = Database(client: client, logger: logger, metrics: metrics)
        self.batchSize = batchSize
        self.interval = idleInterval
        self.offerToCoderFor = offerToCoderFor
    }

    public var logger: Logger { database.logger }

    /// What one batch did.
    public struct BatchResult: Sendable, Hashable {
        public var passed = 0
        public var returned = 0
        public var total: Int { passed + returned }

        public init() {}
    }

    /// One batch; a full one means more coded encounters are probably waiting.
    public func runPass() async throws -> PassOutcome {
        let result = try await runBatch()
        if result.total > 0 {
            logger.info("handoff batch", metadata: ["passed": "\(result.passed)", "returned": "\(result.returned)"])
        }
        return result.total < batchSize ? .done : .full
    }

    /// Checks one batch of coded encounters in one transaction.
    public func runBatch() async throws -> BatchResult {
        let queue = WorkQueue(database: database)
        let encounters = EncounterStore(queue: queue)
        let coding = CodingStore(queue: queue)
        let claims = ClaimStore(queue: queue)
        let codeSets = CodeSetStore(database: database)
        let metrics = database.metrics
        return try await database.client.transaction(logger: logger) { connection in
            var result = BatchResult()
            for id in try await encounters.lockCodedForHandoff(limit: batchSize, on: connection) {
                guard let draft = try await coding.draft(of: id, on: connection) else { continue }
                let facts = try await codeSets.facts(for: draft, on: connection)
                let findings = CodingRules.check(draft, facts: facts)
                for finding in findings {
                    Counter(label: "claimflow_handoff_findings_total", dimensions: [("rule", finding.rule)], factory: metrics.factory)
                        .increment()
                }
                if CodingRules.blocks(findings) {
                    try await coding.returnFromHandoff(encounterID: id, findings: findings, offerFor: offerToCoderFor, on: connection)
                    result.returned += 1
                } else {
                    try await claims.handOff(encounterID: id, audit: .system, on: connection)
                    result.passed += 1
                }
            }
            return result
        }
    }
}
