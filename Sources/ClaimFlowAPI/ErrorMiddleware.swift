import ClaimFlowStore
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The one place where errors become HTTP: every failure leaves as an RFC 9457
/// problem+json document with a stable `type`, and nothing from the database's error text
/// (which can quote row values) reaches the client. Also writes the one log line per request.
///
/// It also keeps requests from waiting on a database that is away (see ``answer(_:context:next:)``):
/// while the database cannot be reached, every API request is answered 503 with `Retry-After`.
struct ErrorMiddleware: ClaimFlowMiddleware {
    /// Every route, to tell an unknown path (404) from a known path with the wrong method (405).
    let table: RouteTable
    /// Where the database's outages are known from (the LISTEN connection's watch); nil runs
    /// requests without the outage race.
    var signals: WorkSignals?
    /// The longest an API request may take beyond its own long-poll `wait`: past it the request
    /// is given up (its wait for a pooled connection cancelled) and answered 503, so nothing
    /// waits forever on a database that hangs rather than refuses.
    var databaseWait: Duration = .seconds(25)

    /// Seconds a client is told to wait before trying again while the database is away.
    static let retryAfterSeconds = 2

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await answer(request, context: context, next: next)
        } catch {
            response = problem(for: error, request: request, context: context).response()
            if response.status == .serviceUnavailable { response.headers[.retryAfter] = "\(Self.retryAfterSeconds)" }
            if response.status == .methodNotAllowed {
                response.headers[.allow] = allowedMethods(for: request.uri.path).joined(separator: ", ")
            }
            if response.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        }
        let elapsed = ContinuousClock.now - started
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method)",
                "route": "\(context.endpointPath ?? "unmatched")",
                "status": "\(response.status.code)",
                "duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ]
        )
        return response
    }

    /// What the next handler answers, raced against the database going away and against
    /// `databaseWait` (plus the request's long-poll `wait`) for requests under `/api/v1/`, which
    /// all touch the database. When the database is known to be away the request is answered
    /// 503 without trying; when it goes away (or the bound passes) while the request runs, the
    /// request is cancelled, which ends its wait for a pooled connection at once. PostgresNIO
    /// does not cancel a statement already sent, so a request that got that far finishes, and
    /// its own answer (success or error) is kept: a change that was made is never reported as
    /// failed.
    private func answer(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let signals, request.uri.path.hasPrefix("/api/v1/") else { return try await next(request, context) }
        if await signals.isDatabaseUnreachable { throw DatabaseUnavailable("the database is unreachable") }
        let wait = min(max(request.uri.queryParameters.get("wait").flatMap { Int($0) } ?? 0, 0), 30)
        let bound = databaseWait + .seconds(wait)
        return try await withoutActuallyEscaping(next) { next in
            // The handler runs in a child task of this group, which does not outlive this call.
            nonisolated(unsafe) let next = next
            return try await withThrowingTaskGroup(of: RaceOutcome.self) { group in
                group.addTask {
                    do { return .answered(.success(try await next(request, context))) } catch { return .answered(.failure(error)) }
                }
                group.addTask {
                    await withTaskGroup(of: RaceOutcome?.self) { watch in
                        watch.addTask {
                            await signals.outageBegins()
                            return Task.isCancelled ? nil : .interrupted("the database became unreachable")
                        }
                        watch.addTask {
                            try? await Task.sleep(for: bound)
                            return Task.isCancelled ? nil : .interrupted("no answer from the database within \(bound)")
                        }
                        let first = await watch.next() ?? nil
                        watch.cancelAll()
                        return first ?? .interrupted("cancelled")
                    }
                }
                defer { group.cancelAll() }
                switch try await group.next() {
                case .answered(let result)?:
                    return try result.get()
                case .interrupted(let reason)?:
                    group.cancelAll()
                    // Wait for the handler: it ends at once if it was waiting for a connection.
                    while let outcome = try await group.next() {
                        guard case .answered(let result) = outcome else { continue }
                        switch result {
                        case .success(let response):
                            return response
                        case .failure(let error) where error is CancellationError || Self.isCancelledWait(error):
                            throw DatabaseUnavailable(reason)
                        case .failure(let error):
                            throw error
                        }
                    }
                    throw DatabaseUnavailable(reason)
                case nil:
                    throw DatabaseUnavailable("cancelled")
                }
            }
        }
    }

    private enum RaceOutcome: Sendable {
        case answered(Result<Response, any Error>)
        case interrupted(String)
    }

    /// A cancelled wait for a pooled connection: the pool's `requestCancelled` (its error type
    /// lives in a module ClaimFlow does not import) or PostgresNIO's `queryCancelled`.
    private static func isCancelledWait(_ error: any Error) -> Bool {
        (error as? PSQLError)?.code == .queryCancelled || String(reflecting: type(of: error)).hasSuffix(".ConnectionPoolError")
    }

    private func problem(for error: any Error, request: Request, context: Context) -> ProblemDetails {
        switch error {
        case let error as APIError:
            return error.problem
        case let error as StoreError:
            return Self.problem(for: error)
        case let error as ProblemDetails:
            return error
        case let error as HTTPError:
            if error.status == .notFound {
                if !allowedMethods(for: request.uri.path).isEmpty {
                    return ProblemDetails(
                        type: "method-not-allowed", title: "Method Not Allowed", status: .methodNotAllowed,
                        detail: "\(request.method) is not allowed here"
                    )
                }
                return ProblemDetails(type: "not-found", title: "Not Found", status: .notFound, detail: "no such resource")
            }
            if error.status == .contentTooLarge {
                return APIError.payloadTooLarge("the body is larger than the limit").problem
            }
            return ProblemDetails(
                type: "http-\(error.status.code)", title: error.status.reasonPhrase, status: error.status,
                detail: error.status.reasonPhrase
            )
        case _ where DatabaseUnavailable.matches(error):
            context.logger.warning(
                "database unavailable",
                metadata: ["error": "\(logSafeDescription(of: error))", "route": "\(context.endpointPath ?? "unmatched")"]
            )
            return Self.databaseUnavailable
        default:
            context.logger.error(
                "request failed",
                metadata: ["error": "\(logSafeDescription(of: error))", "route": "\(context.endpointPath ?? "unmatched")"]
            )
            return ProblemDetails(
                type: "internal", title: "Internal Server Error", status: .internalServerError,
                detail: "something went wrong on our side; the request id is \(context.id)"
            )
        }
    }

    /// The answer while the database cannot be reached; sent with `Retry-After`.
    static let databaseUnavailable = ProblemDetails(
        type: "database-unavailable", title: "Service Unavailable", status: .serviceUnavailable,
        detail: "the database cannot be reached just now; try again shortly"
    )

    static func problem(for error: StoreError) -> ProblemDetails {
        switch error.code {
        case .notFound:
            ProblemDetails(type: "not-found", title: "Not Found", status: .notFound, detail: error.detail)
        case .staleLease:
            ProblemDetails(type: "stale-lease", title: "Conflict", status: .conflict, detail: error.detail)
        case .wrongStage:
            ProblemDetails(type: "wrong-stage", title: "Conflict", status: .conflict, detail: error.detail)
        case .illegalTransition:
            ProblemDetails(type: "illegal-transition", title: "Conflict", status: .conflict, detail: error.detail)
        case .conflict:
            ProblemDetails(type: "conflict", title: "Conflict", status: .conflict, detail: error.detail)
        case .invalidAssignee:
            ProblemDetails(
                type: "invalid-assignee", title: "Unprocessable Content", status: .unprocessableContent,
                detail: error.detail
            )
        case .unsubmittable:
            ProblemDetails(
                type: "unsubmittable", title: "Unprocessable Content", status: .unprocessableContent, detail: error.detail
            )
        case .invalidValue:
            ProblemDetails(
                type: "invalid-value", title: "Unprocessable Content", status: .unprocessableContent, detail: error.detail
            )
        case .segregationOfDuties:
            ProblemDetails(type: "segregation-of-duties", title: "Forbidden", status: .forbidden, detail: error.detail)
        }
    }

    /// The methods routed for `path`, matching `{parameter}` segments against anything.
    private func allowedMethods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        return table.routes.filter { route in
            route.path.count == segments.count
                && zip(route.path, segments).allSatisfy { pattern, segment in
                    pattern.hasPrefix("{") || pattern.hasPrefix(":") || pattern == segment
                }
        }
        .map(\.method.rawValue)
        .sorted()
    }
}
