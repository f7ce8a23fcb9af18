import ClaimFlowStore
import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// `/healthz` (the process is up) and `/readyz` (it can reach its database), for load
/// balancers and orchestrators. Neither needs a token.
struct HealthController: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// The database watch: while it knows the database is away, `/readyz` says so without a probe.
    var signals: WorkSignals?
    /// How long `/readyz` waits for the database before calling it unreachable.
    var probeTimeout: Duration = .seconds(2)

    func addRoutes(to router: Router<ClaimFlowRequestContext>) {
        router.get("healthz") { _, _ in
            Self.json(status: .ok, ["status": "ok"])
        }
        router.get("readyz") { _, _ in
            if await signals?.isDatabaseUnreachable != true, await databaseAnswers() {
                return Self.json(status: .ok, ["status": "ready", "database": "reachable"])
            }
            var response = ProblemDetails(
                type: "database-unavailable",
                title: "Service Unavailable",
                status: .serviceUnavailable,
                detail: "the database is not reachable"
            ).response()
            response.headers[.retryAfter] = "\(ErrorMiddleware.retryAfterSeconds)"
            return response
        }
    }

    private func databaseAnswers() async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await HealthStore(client: client, logger: logger).ping()
                    return true
                } catch {
                    logger.warning("readiness probe failed", metadata: ["error": "\(logSafeDescription(of: error))"])
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: probeTimeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    static func json(status: HTTPResponse.Status, _ body: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
