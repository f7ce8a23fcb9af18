public import ClaimFlowStore
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Returns expired leases to their queues, and moves work near its timely filing limit up the
/// queue, every `interval`.
///
/// A singleton by agreement: each pass takes a transaction-level advisory lock and skips the
/// pass when another process holds it. The lock is released with the transaction, so it also
/// works behind PgBouncer in transaction mode. (The reap itself is safe to run concurrently:
/// it claims rows with SKIP LOCKED; the lock only saves duplicate work.)
public struct LeaseReaper: Service {
    let client: PostgresClient
    let queue: WorkQueue
    let interval: Duration
    let logger: Logger

    public init(client: PostgresClient, queue: WorkQueue, interval: Duration = .seconds(5), logger: Logger) {
        self.client = client
        self.queue = queue
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let reaped = try await reapOnce()
                if reaped > 0 { logger.info("returned expired leases to their queues", metadata: ["count": "\(reaped)"]) }
            } catch {
                logger.warning("lease reaper pass failed", metadata: ["error": "\(logSafeDescription(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass; returns the number of leases returned, or 0 when another process holds the lock.
    public func reapOnce() async throws -> Int {
        guard let pass = try await queue.upkeep() else { return 0 }
        if pass.raised > 0 { logger.info("work near its filing limit moved up", metadata: ["count": "\(pass.raised)"]) }
        return pass.reaped
    }
}
