import Foundation
import Hummingbird
import NIOCore

/// Behind a TLS-terminating proxy or load balancer, every connection comes from the proxy. When
/// the peer is one of `trustedProxies`, the client is the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the address it saw,
/// so entries left of an untrusted one may be forged). From any other peer the header is
/// ignored, so a client cannot pick the address its requests are audited and limited under.
struct ForwardedClientMiddleware: ClaimFlowMiddleware {
    let trustedProxies: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let peer = context.clientAddress, trustedProxies.contains(peer),
            let forwarded = Self.client(forwardedFor: request.headers[values: .init("X-Forwarded-For")!], trusted: trustedProxies)
        {
            context.clientAddress = forwarded
        }
        return try await next(request, context)
    }

    /// The client named by the `X-Forwarded-For` values (one header or several), or nil when
    /// they name no valid IP address.
    static func client(forwardedFor values: [String], trusted: Set<String>) -> String? {
        let hops = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client: String?
        for hop in hops.reversed() {
            // Only literal addresses count: anything else ends the walk where it stands.
            guard (try? SocketAddress(ipAddress: hop, port: 0)) != nil else { break }
            client = hop
            if !trusted.contains(hop) { break }
        }
        return client
    }
}
