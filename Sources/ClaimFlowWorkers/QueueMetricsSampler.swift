public import ClaimFlowStore
public import Logging
import Metrics
public import PostgresNIO

/// Samples queue depth, oldest age, active leases and claims by status into gauges, on its
/// own clock, so a Prometheus scrape only reads memory and never counts a table.
///
/// The queue figures come from the small `work_items` table every `interval`; claims by status
/// (a larger table) every `claimsEvery` samples.
public struct QueueMetricsSampler: PeriodicWork {
    public let name = "metrics sampler"
    /// The pool, the logger, and where the gauges go: the process's metrics unless a test
    /// brings its own.
    let database: Database
    public let interval: Duration
    let claimsEvery: Int
    private var pass = 0

    public init(
        client: PostgresClient, logger: Logger, interval: Duration = .seconds(15), claimsEvery: Int = 4,
        metrics: StoreMetrics = StoreMetrics()
    ) {
        self.database = Database(client: client, logger: logger, metrics: metrics)
        self.interval = interval
        self.claimsEvery = max(claimsEvery, 1)
    }

    public var logger: Logger { database.logger }

    /// The next sample is seconds away and the gauges keep their last values meanwhile.
    public var failureLogLevel: Logger.Level { .debug }

    /// The queue gauges every pass, claims by status every `claimsEvery` passes.
    public mutating func runPass() async throws -> PassOutcome {
        defer { pass += 1 }
        try await sampleQueues()
        if pass % claimsEvery == 0 { try await sampleClaims() }
        return .done
    }

    /// One sample of the queue gauges.
    public func sampleQueues() async throws {
        for figures in try await MetricsStore(database: database).queueFigures() {
            let queue = [("queue", figures.queue)]
            Gauge(label: "claimflow_queue_depth", dimensions: queue, factory: database.metrics.factory).record(figures.waiting)
            Gauge(label: "claimflow_active_leases", dimensions: queue, factory: database.metrics.factory).record(figures.leased)
            Gauge(label: "claimflow_queue_oldest_age_seconds", dimensions: queue, factory: database.metrics.factory)
                .record(figures.oldestAgeSeconds)
        }
    }

    /// One sample of claims by status.
    public func sampleClaims() async throws {
        for (status, count) in try await MetricsStore(database: database).claimsByStatus() {
            Gauge(label: "claimflow_claims", dimensions: [("status", status)], factory: database.metrics.factory).record(count)
        }
    }
}
