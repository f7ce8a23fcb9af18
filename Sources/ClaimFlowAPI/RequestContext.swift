public import ClaimFlowCore
import Foundation
public import Hummingbird
import Logging
import NIOCore

/// The request context of every ClaimFlow route: Hummingbird's core storage, the
/// authenticated principal (set by ``AuthMiddleware``) and the client's address.
public struct ClaimFlowRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated user; nil before authentication and on operations routes.
    public var principal: Principal?
    /// The client's IP address, for the audit trail and the failed-authentication limit: the
    /// peer's, or, when the peer is a trusted proxy, the one it forwarded
    /// (``ForwardedClientMiddleware``).
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies are read through ``JSONBody`` with its own limits; this is Hummingbird's cap
    /// for anything else.
    public var maxUploadSize: Int { JSONBody.batchLimit }

    /// The principal, for handlers behind ``AuthMiddleware`` (which guarantees one).
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthorized("authentication required") }
        return principal
    }

    /// The `{name}` path parameter as an id; anything but a UUID is no such resource.
    func pathID(_ name: String = "id") throws -> UUID {
        guard let text = parameters.get(name), let id = UUID(uuidString: text) else {
            throw APIError.notFound("no such resource: the id must be a UUID")
        }
        return id
    }

    /// Who acts, from where, under which request id: for the audit trail.
    var audit: AuditContext {
        AuditContext(actorID: principal?.userID, clientAddress: clientAddress, requestID: id)
    }
}
