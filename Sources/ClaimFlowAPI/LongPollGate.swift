import CoreMetrics
import Foundation
import Hummingbird
import Synchronization

/// How many long polls (`coder/next` and `biller/next` with `wait` > 0) may wait at once, per
/// user and in all: each holds a connection and a task for up to 30 s, so without a bound a
/// few clients could take every socket and leave nothing for the requests that do work.
public struct LongPollLimits: Sendable, Hashable {
    /// Waiting pulls one user may hold at once.
    public var perUser: Int
    /// Waiting pulls the whole server holds at once.
    public var total: Int

    public static let defaultPerUser = 4
    public static let defaultTotal = 1_000

    public init(perUser: Int = Self.defaultPerUser, total: Int = Self.defaultTotal) {
        self.perUser = max(1, perUser)
        self.total = max(1, total)
    }
}

/// Admits long polls up to ``LongPollLimits``; beyond them a pull is answered 429 with
/// `Retry-After` at once, before it waits or touches the database.
final class LongPollGate: Sendable {
    let limits: LongPollLimits

    private struct Counts {
        var total = 0
        var perUser: [UUID: Int] = [:]
    }

    private let counts = Mutex(Counts())
    /// `claimflow_long_polls_waiting`: what an operator (and the shutdown test) reads to see
    /// how many pulls wait now.
    private let gauge: Gauge

    init(limits: LongPollLimits, factory: any MetricsFactory = MetricsSystem.factory) {
        self.limits = limits
        self.gauge = Gauge(label: "claimflow_long_polls_waiting", factory: factory)
        gauge.record(0)
    }

    /// Takes a place for `user`; nil when none is free.
    func enter(_ user: UUID) -> Place? {
        let admitted = counts.withLock { counts -> Bool in
            let mine = counts.perUser[user, default: 0]
            guard mine < limits.perUser, counts.total < limits.total else { return false }
            counts.perUser[user] = mine + 1
            counts.total += 1
            gauge.record(counts.total)
            return true
        }
        return admitted ? Place(gate: self, user: user) : nil
    }

    fileprivate func leave(_ user: UUID) {
        counts.withLock { counts in
            counts.total -= 1
            let mine = counts.perUser[user, default: 1] - 1
            counts.perUser[user] = mine > 0 ? mine : nil
            gauge.record(counts.total)
        }
    }

    /// The number of long polls waiting now.
    var waiting: Int { counts.withLock { $0.total } }

    /// A taken place; it is given back when the pull ends, however it ends.
    final class Place: Sendable {
        private let gate: LongPollGate
        private let user: UUID

        fileprivate init(gate: LongPollGate, user: UUID) {
            self.gate = gate
            self.user = user
        }

        deinit { gate.leave(user) }
    }
}

extension LongPollGate {
    /// The answer to a pull over the limits: 429 with `Retry-After`, so the client backs off
    /// instead of holding yet another connection.
    func refusal() -> Response {
        ProblemDetails.tooManyRequests(
            "too many waiting pulls: at most \(limits.perUser) per user and \(limits.total) in all; try again shortly",
            retryAfter: 1)
    }
}
