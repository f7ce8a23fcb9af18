import ClaimFlowStore
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Synchronization

/// The one place where errors become HTTP: every failure leaves as an RFC 9457
/// problem+json document with a stable `type`, and nothing from the database's error text
/// (which can quote row values) reaches the client. Also writes the one log line per request.
///
/// While the database cannot be reached, every API request is answered 503 with `Retry-After`
/// (see also ``DatabaseOutageResponder``).
struct ErrorMiddleware: ClaimFlowMiddleware {
    /// Every route, to tell an unknown path (404) from a known path with the wrong method (405).
    let table: RouteTable
    /// Where the database's outages are known from (the LISTEN connection's watch); nil answers
    /// every request as if the database were there.
    var signals: WorkSignals?

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

    /// What the next handler answers; 503 at once for a request under `/api/v1/` (all of
    /// which touch the database) while the database is known to be away. The race of a request
    /// already running against an outage is ``DatabaseOutageResponder``'s.
    private func answer(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let signals, request.uri.path.hasPrefix("/api/v1/"), await signals.isDatabaseUnreachable {
            throw DatabaseUnavailable("the database is unreachable")
        }
        return try await next(request, context)
    }

    /// A cancelled wait for a pooled connection: the pool's `requestCancelled` (its error type
    /// lives in a module ClaimFlow does not import) or PostgresNIO's `queryCancelled`.
    static func isCancelledWait(_ error: any Error) -> Bool {
        error is CancellationError || (error as? PSQLError)?.code == .queryCancelled
            || String(reflecting: type(of: error)).hasSuffix(".ConnectionPoolError")
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
        // A request the outage responder cancelled ends in a cancelled wait for a connection.
        case _ where DatabaseUnavailable.matches(error) || (Task.isCancelled && Self.isCancelledWait(error)):
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

/// Answers every API request even when the database goes away under it.
///
/// Wraps the router's responder, outside the middleware, so that a request can be left behind:
/// each request under `/api/v1/` runs in a task of its own, raced against the database going
/// away (``WorkSignals/outageBegins()``) and against `databaseWait` plus its long-poll `wait`.
/// When the race is lost the request is cancelled, which ends a wait for a pooled connection at
/// once (the error middleware answers that 503); a request that does not finish within `grace`
/// after that is answered 503 here and left to finish or not. That last case is real: PostgresNIO
/// sends a statement on a connection that closed between two statements of a transaction (a
/// restart mid-transaction) into a closed channel, and its answer never comes; without this, that
/// client would never get an answer and graceful shutdown would wait for it forever.
struct DatabaseOutageResponder<Base: HTTPResponder>: HTTPResponder where Base.Context == ClaimFlowRequestContext {
    typealias Context = ClaimFlowRequestContext

    let base: Base
    let signals: WorkSignals
    /// The longest an API request may take beyond its own long-poll `wait`.
    var databaseWait: Duration = .seconds(300)
    /// How long a cancelled request is given to answer before it is answered for.
    var grace: Duration = .seconds(2)

    init(base: Base, signals: WorkSignals) {
        self.base = base
        self.signals = signals
    }

    private enum Outcome: Sendable {
        case answered(Result<Response, any Error>)
        case interrupted(String)
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/v1/") else { return try await base.respond(to: request, context: context) }
        let wait = min(max(request.uri.queryParameters.get("wait").flatMap { Int($0) } ?? 0, 0), 30)
        let bound = databaseWait + .seconds(wait)
        let race = FirstOf<Outcome>()
        let handler = Task {
            do {
                race.finish(.answered(.success(try await base.respond(to: request, context: context))))
            } catch {
                race.finish(.answered(.failure(error)))
            }
        }
        let watcher = Task { [signals] in
            await withTaskGroup(of: String?.self) { watch in
                watch.addTask {
                    await signals.outageBegins()
                    return Task.isCancelled ? nil : "the database became unreachable"
                }
                watch.addTask {
                    try? await Task.sleep(for: bound)
                    return Task.isCancelled ? nil : "no answer within \(bound)"
                }
                if let reason = await watch.next() ?? nil { race.finish(.interrupted(reason)) }
                watch.cancelAll()
            }
        }
        let first = await withTaskCancellationHandler {
            await race.result()
        } onCancel: {
            handler.cancel()
        }
        watcher.cancel()
        switch first {
        case .answered(let result):
            return try result.get()
        case .interrupted(let reason):
            handler.cancel()
            let late = FirstOf<Result<Response, any Error>?>()
            let forwarded = Task {
                let outcome = await race.resultAfterFirst()
                if case .answered(let result) = outcome { late.finish(result) }
            }
            let timer = Task {
                try await Task.sleep(for: grace)
                late.finish(nil)
            }
            let result = await late.result()
            forwarded.cancel()
            timer.cancel()
            if let result { return try result.get() }
            context.logger.error(
                "request left behind: the database went away under it", metadata: ["reason": "\(reason)"]
            )
            var response = ErrorMiddleware.databaseUnavailable.response()
            response.headers[.retryAfter] = "\(ErrorMiddleware.retryAfterSeconds)"
            return response
        }
    }
}

/// The first value any of several racers hands in, for the one waiter; later values are kept
/// in order for ``resultAfterFirst()``.
final class FirstOf<Value: Sendable>: Sendable {
    private struct State {
        var values: [Value] = []
        var waiters: [(index: Int, continuation: CheckedContinuation<Value, Never>)] = []
    }
    private let state = Mutex(State())

    /// Hands in `value`.
    func finish(_ value: Value) {
        let ready: [CheckedContinuation<Value, Never>] = state.withLock { state in
            state.values.append(value)
            let index = state.values.count - 1
            let ready = state.waiters.filter { $0.index == index }.map(\.continuation)
            state.waiters.removeAll { $0.index == index }
            return ready
        }
        for continuation in ready { continuation.resume(returning: value) }
    }

    /// The first value handed in.
    func result() async -> Value { await value(at: 0) }

    /// The second value handed in.
    func resultAfterFirst() async -> Value { await value(at: 1) }

    private func value(at index: Int) async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                if state.values.count > index { return state.values[index] }
                state.waiters.append((index, continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
