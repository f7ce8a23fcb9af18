import ClaimFlowCore
import Foundation
import Synchronization

/// The principals of recently seen tokens, kept for a few seconds so a request does not read
/// the users tables again.
///
/// Kept only while this process hears the database's notifications: whatever changes who a
/// token stands for (sql/0011_notifications) notifies every process, and ``invalidateAll()`` drops
/// everything kept. While the listener is down nothing is kept, so a revocation is never
/// missed; a request then reads the database, as it would with no cache. Writes made through
/// this process also drop everything at once, before their notification arrives, so the
/// writer's own next request already sees them.
public final class PrincipalCache: Sendable {
    struct Entry {
        let principal: Principal
        let tokenExpiresAt: Date?
        let keptUntil: ContinuousClock.Instant
    }

    struct State {
        var entries: [Data: Entry] = [:]
        /// Advanced by every invalidation: a lookup that began before one may not keep its answer.
        var generation: UInt64 = 0
        var enabled = false
    }

    private let state = Mutex(State())
    /// How long an entry is trusted without a notification: a bound on what a lost
    /// notification could cost, not the way changes arrive.
    let lifetime: Duration
    /// Past this many tokens the cache starts over rather than grow.
    let capacity: Int

    public init(lifetime: Duration = .seconds(30), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The principal kept for the token with this SHA-256 `digest`, if it is still trusted;
    /// otherwise the generation to hand to ``keep(_:for:expiresAt:from:)`` after reading it.
    func lookup(_ digest: Data, now: ContinuousClock.Instant = .now) -> Result<Principal, Miss> {
        state.withLock { state in
            if state.enabled, let entry = state.entries[digest], entry.keptUntil > now,
                entry.tokenExpiresAt.map({ $0 > Date() }) ?? true
            {
                return .success(entry.principal)
            }
            return .failure(Miss(generation: state.generation))
        }
    }

    /// Keeps `principal` for the token `digest`, unless something was invalidated since the
    /// lookup that missed (`miss`), or the cache is off.
    func keep(_ principal: Principal, for digest: Data, expiresAt: Date?, after miss: Miss) {
        state.withLock { state in
            guard state.enabled, state.generation == miss.generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[digest] = Entry(principal: principal, tokenExpiresAt: expiresAt, keptUntil: .now + lifetime)
        }
    }

    /// Drops everything kept: who some token stands for may have changed.
    public func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }

    /// Turns keeping on (the process hears notifications) or off (it may be missing them;
    /// everything kept is dropped).
    public func setEnabled(_ enabled: Bool) {
        state.withLock { state in
            state.enabled = enabled
            state.generation &+= 1
            state.entries.removeAll()
        }
    }

    /// Whether principals are being kept.
    public var isEnabled: Bool { state.withLock { $0.enabled } }

    /// A lookup that found nothing trusted, and the generation it saw.
    struct Miss: Error {
        let generation: UInt64
    }
}
