public import Foundation

/// Who is acting, and from where, for the audit trail. Carries ids only, never PHI.
public struct AuditContext: Sendable, Hashable {
    /// The acting user; nil when ClaimFlow itself acts (a worker, the lease reaper).
    public var actorID: UUID?
    /// The client's network address as the server saw it.
    public var clientAddress: String?
    /// The request id that ties the event to the request's log line.
    public var requestID: String?

    public init(actorID: UUID?, clientAddress: String? = nil, requestID: String? = nil) {
        self.actorID = actorID
        self.clientAddress = clientAddress
        self.requestID = requestID
    }

    /// ClaimFlow acting on its own (workers, reaper, demo seeding).
    public static let system = AuditContext(actorID: nil)
}
