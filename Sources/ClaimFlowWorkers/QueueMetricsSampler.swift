import ClaimFlowStore
public import Logging
import Metrics
public import PostgresNIO
public import ServiceLifecycle

/// Samples queue depth, oldest age, active leases and claims by status into gauges, on its
/// own clock, so a Prometheus scrape only reads memory and never counts a table.
///
/// The queue figures come from the small `work_items` table every `interval`; claims by status
/// (a larger table) every `claimsInterval`.
public struct QueueMetricsSampler: Service {
    let client: PostgresClient
    let logger: Logger
    let interval: Duration
    let claimsEvery: Int

    public init(client: PostgresClient, logger: Logger, interval: Duration = .seconds(15), claimsEvery: Int = 4) {
        self.client = client
        self.logger = logger
        self.interval = interval
        self.claimsEvery = claimsEvery
    }

    public func run() async throws {
        var pass = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await sampleQueues()
                if pass % claimsEvery == 0 { try await sampleClaims() }
            } catch {
                logger.debug("metrics sample failed", metadata: ["error": "\(logSafeDescription(of: error))"])
            }
            pass += 1
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One sample of the queue gauges.
    public func sampleQueues() async throws {
        let rows = try await client.query(
            """
            SELECT q.queue,
                   count(w.id) FILTER (WHERE w.lease_id IS NULL)::int,
                   count(w.id) FILTER (WHERE w.lease_id IS NOT NULL)::int,
                   coalesce(extract(epoch FROM now() - min(w.enqueued_at) FILTER (WHERE w.lease_id IS NULL)), 0)::float8
            FROM (VALUES ('coding'), ('billing')) AS q(queue)
            LEFT JOIN work_items w ON w.queue = q.queue
            GROUP BY q.queue
            """,
            logger: logger
        )
        for try await (queue, waiting, leased, oldest) in rows.decode((String, Int, Int, Double).self) {
            Gauge(label: "claimflow_queue_depth", dimensions: [("queue", queue)]).record(waiting)
            Gauge(label: "claimflow_active_leases", dimensions: [("queue", queue)]).record(leased)
            Gauge(label: "claimflow_queue_oldest_age_seconds", dimensions: [("queue", queue)]).record(oldest)
        }
    }

    /// One sample of claims by status.
    public func sampleClaims() async throws {
        let rows = try await client.query(
            """
            SELECT s.status, count(c.id)::int
            FROM (VALUES ('ready'), ('withdrawn'), ('submitted'), ('accepted'), ('rejected'), ('paid'), ('denied'), ('voided'))
                 AS s(status)
            LEFT JOIN claims c ON c.status = s.status
            GROUP BY s.status
            """,
            logger: logger
        )
        for try await (status, count) in rows.decode((String, Int).self) {
            Gauge(label: "claimflow_claims", dimensions: [("status", status)]).record(count)
        }
    }
}
