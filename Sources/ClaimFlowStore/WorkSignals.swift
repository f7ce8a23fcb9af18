public import ClaimFlowCore
import Foundation
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Wakes long-polling pullers when work arrives in a queue.
///
/// Each queue has a generation counter that every notification advances. A puller reads the
/// generation, looks for work, and if it finds none waits for a generation after the one it
/// read, so a notification that lands between the look and the wait is never missed.
public actor WorkSignals {
    /// What a notification names: work available in a queue, or an encounter coded (for the
    /// handoff worker).
    public enum Topic: Hashable, Sendable {
        case queue(WorkQueueName)
        case coded
    }

    private var generations: [Topic: UInt64] = [:]
    private var waiters: [Topic: [UUID: CheckedContinuation<Void, Never>]] = [:]
    /// While the LISTEN connection is down, waits are cut short so pullers fall back to
    /// looking again every `fallbackInterval` rather than sleeping through new work.
    private var listening = false
    /// Set once the process begins to shut down: every waiter has been woken and no wait
    /// starts again, so open long polls answer at once instead of holding the shutdown up.
    private var shuttingDown = false
    /// Set while the listener's connection is gone for a reason that means the database went
    /// away (restart, crash, network), until the listener is back: requests are answered 503
    /// at once instead of queueing for a connection that cannot be made.
    private var unreachable = false
    private var outageWaiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    private let fallbackInterval: Duration
    /// The principals of recent tokens, kept only while notifications are heard: the listener
    /// turns it on and off with itself and empties it on every change to who a token stands for.
    public nonisolated let principals: PrincipalCache

    public init(fallbackInterval: Duration = .seconds(1), principals: PrincipalCache = PrincipalCache()) {
        self.fallbackInterval = fallbackInterval
        self.principals = principals
    }

    /// The queue's current generation.
    public func generation(of queue: WorkQueueName) -> UInt64 {
        generations[.queue(queue), default: 0]
    }

    /// The topic's current generation.
    public func generation(of topic: Topic) -> UInt64 {
        generations[topic, default: 0]
    }

    /// Whether notifications are being received.
    public var isListening: Bool { listening }

    /// How many pullers are waiting on `queue` right now: a puller counts from the moment its
    /// wait is registered until it is woken, times out or is cancelled.
    public func waiterCount(for queue: WorkQueueName) -> Int {
        waiters[.queue(queue)]?.count ?? 0
    }

    /// Whether the database is known to be unreachable: the listener lost its connection to a
    /// restart, crash or network failure and has not yet listened again. False until there is
    /// such evidence (a process that runs no listener never reports an outage).
    public var isDatabaseUnreachable: Bool { unreachable }

    /// Returns when the database becomes unreachable (at once if it is), or on cancellation.
    /// A request waiting on the database races this, so that nothing waits out an outage.
    public func outageBegins() async {
        guard !unreachable else { return }
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled || unreachable {
                    continuation.resume()
                } else {
                    outageWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.endOutageWait(id) }
        }
    }

    private func endOutageWait(_ id: UUID) {
        outageWaiters.removeValue(forKey: id)?.resume()
    }

    func setDatabaseReachable(_ reachable: Bool) {
        unreachable = !reachable
        guard !reachable else { return }
        let woken = outageWaiters
        outageWaiters = [:]
        for continuation in woken.values { continuation.resume() }
    }

    /// Whether ``shutDown()`` has been called.
    public var isShutDown: Bool { shuttingDown }

    /// Wakes every waiting puller and makes every later wait return at once. Called when the
    /// process begins a graceful shutdown, so the server's drain is not held up by long polls.
    public func shutDown() {
        shuttingDown = true
        let woken = waiters
        waiters = [:]
        for queue in woken.values {
            for continuation in queue.values { continuation.resume() }
        }
    }

    /// Records that work arrived in `queue` and wakes everyone waiting on it.
    public func signal(_ queue: WorkQueueName) {
        signal(.queue(queue))
    }

    /// Records that `topic` happened and wakes everyone waiting on it.
    public func signal(_ topic: Topic) {
        generations[topic, default: 0] &+= 1
        let woken = waiters.removeValue(forKey: topic) ?? [:]
        for continuation in woken.values { continuation.resume() }
    }

    func setListening(_ value: Bool) {
        listening = value
        principals.setEnabled(value)
        if value { unreachable = false }
        // Anything may have arrived while we were not listening.
        if value {
            for queue in WorkQueueName.allCases { signal(queue) }
            signal(.coded)
        }
    }

    /// Returns when the queue's generation passes `generation`, at `deadline`, on
    /// cancellation, or on ``shutDown()``, whichever comes first.
    public func wait(for queue: WorkQueueName, after generation: UInt64, until deadline: ContinuousClock.Instant) async {
        await wait(for: .queue(queue), after: generation, until: deadline)
    }

    /// Returns when the topic's generation passes `generation`, at `deadline`, on
    /// cancellation, or on ``shutDown()``, whichever comes first.
    public func wait(for topic: Topic, after generation: UInt64, until deadline: ContinuousClock.Instant) async {
        guard !shuttingDown, generations[topic, default: 0] == generation else { return }
        let limit = listening ? deadline : min(deadline, ContinuousClock.now + fallbackInterval)
        let id = UUID()
        let timer = Task { [weak self] in
            try? await Task.sleep(until: limit, clock: .continuous)
            await self?.wake(id, in: topic)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    waiters[topic, default: [:]][id] = continuation
                }
            }
        } onCancel: {
            Task { await self.wake(id, in: topic) }
        }
        timer.cancel()
    }

    private func wake(_ id: UUID, in topic: Topic) {
        waiters[topic]?.removeValue(forKey: id)?.resume()
    }
}

/// Ends open long polls when the process begins a graceful shutdown, by calling
/// ``WorkSignals/shutDown()``.
///
/// A service group shuts its services down last to first, and an HTTP server drains its
/// in-flight requests before it returns, so this service must come after the server in the
/// group: it is then told first, and the server's drain does not wait for long polls to run out.
public struct LongPollShutdown: Service {
    let signals: WorkSignals

    public init(signals: WorkSignals) {
        self.signals = signals
    }

    public func run() async throws {
        // Cancellation ends the wait too; either way no puller should go on waiting.
        try? await gracefulShutdown()
        await signals.shutDown()
    }
}

/// Holds one connection in `LISTEN claimflow_work` and turns notifications into
/// ``WorkSignals``: a queue's name wakes its pullers, `coded` the handoff worker, `auth` empties the
/// ``WorkSignals/principals`` cache. Reconnects with backoff when the connection drops.
///
/// It is also the process's watch on the database: when its connection drops because the
/// server went away, ``WorkSignals/isDatabaseUnreachable`` is set until it listens again, and
/// listening again wakes every waiting puller (work may have arrived meanwhile).
public struct WorkNotifier: Service {
    /// The channel the `work_items_available` trigger notifies.
    public static let channel = "claimflow_work"
    /// The payload of a change to who some token stands for (sql/0011_notifications).
    static let authChanged = "auth"
    /// The payload of an encounter coded, waiting for the handoff check (sql/0011_notifications).
    static let coded = "coded"

    let client: PostgresClient
    let signals: WorkSignals
    let logger: Logger

    public init(client: PostgresClient, signals: WorkSignals, logger: Logger) {
        self.client = client
        self.signals = signals
        self.logger = logger
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(250)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    try await client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            await signals.setListening(true)
                            for try await notification in notifications {
                                if let queue = WorkQueueName(rawValue: notification.payload) {
                                    await signals.signal(queue)
                                } else if notification.payload == Self.coded {
                                    await signals.signal(.coded)
                                } else if notification.payload == Self.authChanged {
                                    signals.principals.invalidateAll()
                                }
                            }
                        }
                    }
                }
                // The notifications end without an error only when the connection closed under them.
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                await signals.setDatabaseReachable(false)
                logger.warning("work notification listener lost its connection; retrying")
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                if DatabaseUnavailable.matches(error) { await signals.setDatabaseReachable(false) }
                logger.warning(
                    "work notification listener lost its connection; retrying",
                    metadata: ["error": "\(logSafeDescription(of: error))"]
                )
            }
            // A connection that got as far as listening earns a quick retry. The pause is short
            // (at most 2 s) because the pool already backs off while the server is away, and
            // recovery waits on this listener: the API answers 503 until it listens again.
            if await signals.isListening { backoff = .milliseconds(250) }
            await signals.setListening(false)
            let pause = backoff
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            backoff = min(backoff * 2, .seconds(2))
        }
        await signals.setListening(false)
    }
}
