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

    /// Whether a probe comes back within `probeTimeout`. The probe runs in a task of its own and
    /// is left behind when it does not: a statement lost with its connection never returns (see
    /// ``DatabaseOutageResponder``), and a task group would wait for it.
    private func databaseAnswers() async -> Bool {
        let first = FirstOf<Bool>()
        let probe = Task { [client, logger] in
            do {
                try await HealthStore(client: client, logger: logger).ping()
                first.finish(true)
            } catch {
                logger.warning("readiness probe failed", metadata: ["error": "\(logSafeDescription(of: error))"])
                first.finish(false)
            }
        }
        let timer = Task { [probeTimeout] in
            try await Task.sleep(for: probeTimeout)
            first.finish(false)
            probe.cancel()
        }
        let answered = await first.result()
        timer.cancel()
        return answered
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
