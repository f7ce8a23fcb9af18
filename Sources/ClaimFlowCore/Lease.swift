public import Foundation

/// One person's exclusive, time-limited hold on a piece of queued work.
///
/// The lease id is a fencing token: every write by the holder names it, and once the lease
/// expires, is released or is reassigned, writes naming the old id are refused.
public struct Lease: Sendable, Hashable, Codable {
    public let id: UUID
    public let encounterID: UUID
    public let queue: WorkQueueName
    public let holder: UUID
    public let expiresAt: Date

    public init(id: UUID, encounterID: UUID, queue: WorkQueueName, holder: UUID, expiresAt: Date) {
        self.id = id
        self.encounterID = encounterID
        self.queue = queue
        self.holder = holder
        self.expiresAt = expiresAt
    }
}
