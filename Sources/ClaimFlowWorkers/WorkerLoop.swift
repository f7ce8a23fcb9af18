import ClaimFlowStore
public import Logging
public import ServiceLifecycle
import Synchronization

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
    /// The pause between passes: `duration`, or less when the worker learns of new work
    /// sooner (a notification).
    func idle(for duration: Duration) async throws
}

extension PeriodicWork {
    public var failureLogLevel: Logger.Level { .warning }

    public func idle(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }

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
/// - A pass that has not finished after `passLimit` is given up (cancelled and no longer
///   waited for) and logged as an error, and the loop goes on. A statement sent on a
///   connection that the server closed between two statements (a restart mid-transaction) can
///   wait forever in PostgresNIO; without the limit it would stall the worker until the process
///   restarts. The server has already rolled such a transaction back, and every worker is safe
///   to run twice at once (SKIP LOCKED claims, advisory-locked singletons), so a pass that does
///   finish late does no harm.
public struct WorkerLoop<Work: PeriodicWork>: Service {
    let work: Work
    let jitter: Double
    let passLimit: Duration

    public init(_ work: Work, jitter: Double = 0.1, passLimit: Duration = .seconds(20)) {
        self.work = work
        self.jitter = min(max(jitter, 0), 1)
        self.passLimit = passLimit
    }

    public func run() async throws {
        var work = self.work
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var outcome = PassOutcome.done
            switch await boundedPass(work) {
            case .finished(let after, .success(let result)):
                work = after
                outcome = result
            case .finished(let after, .failure(let error)):
                work = after
                work.logger.log(
                    level: work.failureLogLevel,
                    "\(work.name) pass failed; the next pass tries again",
                    metadata: ["error": "\(logSafeDescription(of: error))"]
                )
            case .gaveUp:
                work.logger.error(
                    "\(work.name) pass did not finish; given up so the next pass can start",
                    metadata: ["limit": "\(passLimit)"]
                )
            }
            if outcome == .full { continue }
            let pause = pause()
            try? await cancelWhenGracefulShutdown { [work] in try await work.idle(for: pause) }
        }
    }

    enum BoundedPass {
        case finished(Work, Result<PassOutcome, any Error>)
        case gaveUp
    }

    /// One pass on a copy of `work`, in a task of its own so that it can be left behind when it
    /// outlasts `passLimit` (see the type's notes). Cancelling the loop cancels the pass.
    func boundedPass(_ work: Work) async -> BoundedPass {
        let race = PassRace<BoundedPass>()
        let pass = Task {
            var copy = work
            do {
                let outcome = try await copy.runPass()
                race.finish(.finished(copy, .success(outcome)))
            } catch {
                race.finish(.finished(copy, .failure(error)))
            }
        }
        let limit = passLimit
        let timer = Task {
            try await Task.sleep(for: limit)
            if race.finish(.gaveUp) { pass.cancel() }
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await race.result()
        } onCancel: {
            pass.cancel()
            race.finish(.gaveUp)
        }
    }

    /// The interval, moved by up to `jitter` of itself either way.
    func pause() -> Duration {
        work.interval * (1 + Double.random(in: -jitter...jitter))
    }
}

/// The first of several racers to finish, handed to the one waiter.
final class PassRace<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value, Never>?
    }
    private let state = Mutex(State())

    /// Records `value` unless another racer finished first; true when it was the first.
    @discardableResult
    func finish(_ value: Value) -> Bool {
        let waiter: CheckedContinuation<Value, Never>?? = state.withLock { state in
            guard state.value == nil else { return .none }
            state.value = value
            defer { state.waiter = nil }
            return .some(state.waiter)
        }
        guard let waiter else { return false }
        waiter?.resume(returning: value)
        return true
    }

    /// Waits for the first racer to finish.
    func result() async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                if let value = state.value { return value }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
