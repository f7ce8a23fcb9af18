import ClaimFlowStore
public import Logging
public import ServiceLifecycle

/// How a pass of background work ended, which decides when the next one starts.
public enum PassOutcome: Sendable, Hashable {
    /// The pass took as much as one pass takes (a full batch): more may be waiting, so the next
    /// pass starts at once.
    case full
    /// The pass took what there was: the next one starts after the interval.
    case done
}

/// Background work done in passes (a batch, a reap, a sample) by a ``WorkerLoop``: every
/// such worker is a `Service` whose `run()` is the one loop.
///
/// A pass must leave nothing half-done when it fails (each is one transaction, or writes
/// what it recorded first), because the loop logs the failure and simply runs the next pass.
public protocol PeriodicWork: Service {
    /// What the logs call the work, in words ("lease reaper").
    var name: String { get }
    /// The pause after a pass that was not full, or failed.
    var interval: Duration { get }
    var logger: Logger { get }
    /// How a failed pass is logged: `warning` unless a worker says otherwise.
    var failureLogLevel: Logger.Level { get }

    /// One pass. The loop never cancels a pass on graceful shutdown: it finishes, and no new
    /// pass starts.
    mutating func runPass() async throws -> PassOutcome
}

extension PeriodicWork {
    public var failureLogLevel: Logger.Level { .warning }

    /// Runs passes until graceful shutdown or cancellation (see ``WorkerLoop``).
    public func run() async throws {
        try await WorkerLoop(self).run()
    }
}

/// The loop every background worker runs in.
///
/// - Passes follow one another at `interval`, give or take `jitter` (a fraction of it), so
///   workers in several processes started together do not query in lockstep.
/// - A full pass is followed at once by the next, so a backlog drains at full speed.
/// - A failed pass is logged (ids and codes only, through `logSafeDescription(of:)`) and
///   never ends the loop; the next pass comes after the interval.
/// - On graceful shutdown the pass in hand finishes, the pause is cut short, and no new pass
///   starts; on cancellation the loop ends as soon as the pass in hand lets it.
public struct WorkerLoop<Work: PeriodicWork>: Service {
    let work: Work
    let jitter: Double

    public init(_ work: Work, jitter: Double = 0.1) {
        self.work = work
        self.jitter = min(max(jitter, 0), 1)
    }

    public func run() async throws {
        var work = self.work
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var outcome = PassOutcome.done
            do {
                outcome = try await work.runPass()
            } catch {
                work.logger.log(
                    level: work.failureLogLevel,
                    "\(work.name) pass failed; the next pass tries again",
                    metadata: ["error": "\(logSafeDescription(of: error))"]
                )
            }
            if outcome == .full { continue }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause()) }
        }
    }

    /// The interval, moved by up to `jitter` of itself either way.
    func pause() -> Duration {
        work.interval * (1 + Double.random(in: -jitter...jitter))
    }
}
