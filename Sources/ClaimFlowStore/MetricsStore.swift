import PostgresNIO

/// The figures the metrics sampler turns into gauges: queue depth and age from the small
/// `work_items` table, claims by status from the larger `claims` table.
public struct MetricsStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// One queue's figures at one moment.
    public struct QueueFigures: Sendable, Hashable {
        public let queue: String
        public let waiting: Int
        public let leased: Int
        /// Seconds since the oldest waiting item was enqueued; 0 when none waits.
        public let oldestAgeSeconds: Double
    }

    /// Both queues, listed even when empty.
    public func queueFigures() async throws -> [QueueFigures] {
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
        var figures: [QueueFigures] = []
        for try await (queue, waiting, leased, oldest) in rows.decode((String, Int, Int, Double).self) {
            figures.append(QueueFigures(queue: queue, waiting: waiting, leased: leased, oldestAgeSeconds: oldest))
        }
        return figures
    }

    /// Claim versions by status, every status listed (zero included) so a gauge falls to 0.
    public func claimsByStatus() async throws -> [(status: String, count: Int)] {
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
        var counts: [(status: String, count: Int)] = []
        for try await (status, count) in rows.decode((String, Int).self) { counts.append((status, count)) }
        return counts
    }
}
