import PostgresNIO

/// The figures the metrics sampler turns into gauges: queue depth and age from the small
/// `work_items` table, claims by status from the larger `claims` table.
public struct MetricsStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Each queue's waiting and leased items and the age in seconds of its oldest waiting item
    /// (0 when none waits); both queues, listed even when empty.
    public func queueFigures() async throws -> [(queue: String, waiting: Int, leased: Int, oldestAgeSeconds: Double)] {
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
        var figures: [(queue: String, waiting: Int, leased: Int, oldestAgeSeconds: Double)] = []
        for try await row in rows.decode((String, Int, Int, Double).self) { figures.append(row) }
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
