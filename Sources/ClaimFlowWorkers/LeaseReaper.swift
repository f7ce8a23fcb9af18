public import ClaimFlowStore
public import Logging

/// Returns expired leases to their queues, and moves work near its timely filing limit up the
/// queue, every `interval`.
///
/// A singleton by agreement: each pass takes a transaction-level advisory lock and skips the
/// pass when another process holds it (see ``WorkQueue/upkeep(batch:)``).
public struct LeaseReaper: PeriodicWork {
    public let name = "lease reaper"
    let queue: WorkQueue
    public let interval: Duration
    public let logger: Logger

    public init(queue: WorkQueue, interval: Duration = .seconds(5), logger: Logger) {
        self.queue = queue
        self.interval = interval
        self.logger = logger
    }

    /// One pass; returns the number of leases returned, or 0 when another process holds the lock.
    public func reapOnce() async throws -> Int {
        guard let pass = try await queue.upkeep() else { return 0 }
        if pass.raised > 0 { logger.info("work near its filing limit moved up", metadata: ["count": "\(pass.raised)"]) }
        return pass.reaped
    }

    /// A pass returns every expired lease, however many, so it is never full.
    public func runPass() async throws -> PassOutcome {
        let reaped = try await reapOnce()
        if reaped > 0 { logger.info("returned expired leases to their queues", metadata: ["count": "\(reaped)"]) }
        return .done
    }
}
