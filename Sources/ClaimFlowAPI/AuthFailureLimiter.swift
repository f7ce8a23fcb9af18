import Synchronization

/// Counts events per key in fixed windows, in memory: failed authentications per client
/// address, so that guessing tokens from one address is slowed to ``limit`` attempts per
/// ``window`` (an address over the limit is answered 429 for every request, a valid token
/// included, until its window ends; successes do not count; requests without a known address
/// share one bucket), and requests per token (see ``AuthMiddleware``).
///
/// The table is bounded: entries whose window has ended are dropped when room is needed,
/// and beyond ``capacity`` live addresses the oldest window is forgotten first.
final class AuthFailureLimiter: Sendable {
    /// Failed authentications allowed per address and window (documented in the README).
    static let defaultLimit = 20
    static let defaultWindow: Duration = .seconds(60)
    static let defaultCapacity = 10_000

    let limit: Int
    let window: Duration
    let capacity: Int

    private struct Entry {
        var windowStart: ContinuousClock.Instant
        var failures: Int
    }

    private let entries = Mutex<[String: Entry]>([:])

    init(limit: Int = defaultLimit, window: Duration = defaultWindow, capacity: Int = defaultCapacity) {
        self.limit = limit
        self.window = window
        self.capacity = max(1, capacity)
    }

    /// Whole seconds until `address` may try again, or nil when it is not held back.
    func retryAfter(_ address: String?, now: ContinuousClock.Instant = .now) -> Int? {
        let key = address ?? ""
        return entries.withLock { entries -> Int? in
            guard let entry = entries[key] else { return nil }
            let elapsed = entry.windowStart.duration(to: now)
            if elapsed >= window {
                entries[key] = nil
                return nil
            }
            guard entry.failures >= limit else { return nil }
            let left = window - elapsed
            let seconds = Int(left.components.seconds) + (left.components.attoseconds > 0 ? 1 : 0)
            return max(1, seconds)
        }
    }

    /// Counts one failed authentication from `address`.
    func recordFailure(_ address: String?, now: ContinuousClock.Instant = .now) {
        let key = address ?? ""
        entries.withLock { entries in
            if var entry = entries[key], entry.windowStart.duration(to: now) < window {
                entry.failures += 1
                entries[key] = entry
                return
            }
            if entries[key] == nil, entries.count >= capacity {
                entries = entries.filter { $0.value.windowStart.duration(to: now) < window }
                if entries.count >= capacity, let oldest = entries.min(by: { $0.value.windowStart < $1.value.windowStart }) {
                    entries[oldest.key] = nil
                }
            }
            entries[key] = Entry(windowStart: now, failures: 1)
        }
    }

    /// Counts one event for `key` (a request of a token): the same count as a failure.
    func record(_ key: String, now: ContinuousClock.Instant = .now) { recordFailure(key, now: now) }

    /// How many addresses the table holds (for tests).
    var count: Int { entries.withLock { $0.count } }
}
