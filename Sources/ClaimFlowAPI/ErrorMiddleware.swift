import ClaimFlowStore
import Foundation
import Hummingbird
import Logging

/// The one place where errors become HTTP: every failure leaves as an RFC 9457
/// problem+json document with a stable `type`, and nothing from the database's error text
/// (which can quote row values) reaches the client. Also writes the one log line per request.
struct ErrorMiddleware: ClaimFlowMiddleware {
    /// Every route, to tell an unknown path (404) from a known path with the wrong method (405).
    let table: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = problem(for: error, request: request, context: context).response()
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
