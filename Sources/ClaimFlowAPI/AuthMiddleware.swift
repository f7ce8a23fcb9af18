import ClaimFlowCore
import ClaimFlowStore
import Hummingbird
import Logging

/// Authenticates `Authorization: Bearer <token>` against the stored token digests and puts
/// the user in the request context. A missing, malformed, unknown, expired or revoked token
/// is 401 and counts as a failure of the client's address; an address with too many recent
/// failures is answered 429 with `Retry-After`, for any request, without asking the database.
struct AuthMiddleware: ClaimFlowMiddleware {
    let users: UserStore
    let failures: AuthFailureLimiter
    /// Requests per token and minute; over the limit, 429 with `Retry-After` until the minute ends.
    let requests: AuthFailureLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let seconds = failures.retryAfter(context.clientAddress) {
            return ProblemDetails.tooManyRequests(
                "too many failed authentications from this address; try again in \(seconds) s", retryAfter: seconds)
        }
        let principal: Principal
        do {
            principal = try await authenticate(request)
        } catch let error as APIError {
            failures.recordFailure(context.clientAddress)
            throw error
        }
        // Keyed by a hash of the token, never the token itself: the table lives for the process.
        let token = "token:\(request.headers[.authorization].map { $0.hashValue } ?? 0)"
        if let seconds = requests.retryAfter(token) {
            return ProblemDetails.tooManyRequests(
                "more than \(requests.limit) requests in a minute with this token; try again in \(seconds) s", retryAfter: seconds)
        }
        requests.record(token)
        var context = context
        context.principal = principal
        context.logger[metadataKey: "user_id"] = "\(principal.userID)"
        return try await next(request, context)
    }

    private func authenticate(_ request: Request) async throws -> Principal {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("send a bearer token: Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].count <= 200 else {
            throw APIError.unauthorized("the Authorization header must be: Bearer <token>")
        }
        guard let principal = try await users.principal(forToken: String(parts[1])) else {
            throw APIError.unauthorized("the token is not valid: unknown, expired or revoked")
        }
        return principal
    }
}

/// Lets a request through only when its user holds one of `roles` (403 otherwise).
struct RoleMiddleware: ClaimFlowMiddleware {
    let roles: Set<Role>

    init(_ roles: Role...) { self.roles = Set(roles) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard principal.hasAny(of: roles) else {
            let names = roles.map(\.rawValue).sorted().joined(separator: " or ")
            throw APIError.forbidden("this needs the \(names) role")
        }
        return try await next(request, context)
    }
}

/// A middleware on ClaimFlow's routes, whose requests carry ``ClaimFlowRequestContext``.
protocol ClaimFlowMiddleware: RouterMiddleware where Context == ClaimFlowRequestContext {}
