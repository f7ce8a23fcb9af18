import ClaimFlowAPI
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Testing

@Suite("Operations endpoints")
struct HealthTests {
    @Test("/healthz and /readyz answer 200 with a reachable database")
    func healthyAndReady() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let app = Self.application(client)
            try await app.test(.router) { http in
                try await http.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                }
                try await http.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("reachable"))
                }
            }
        }
    }

    @Test("/readyz is 503 problem+json while the database is unreachable; /healthz stays 200")
    func notReadyWithoutDatabase() async throws {
        // A client whose server does not exist: nothing listens on port 1.
        let url = try DatabaseURL("postgres://claimflow@127.0.0.1:1/claimflow?sslmode=disable")
        try await TestDatabase.withClient(url) { client in
            let app = Self.application(client)
            try await app.test(.router) { http in
                try await http.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect(String(buffer: response.body).contains("database-unavailable"))
                }
                try await http.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    static func application(_ client: PostgresClient) -> some ApplicationProtocol {
        let logger = TestDatabase.logger
        let dependencies = AppDependencies(
            client: client,
            queue: WorkQueue(client: client, logger: logger),
            signals: WorkSignals(),
            logger: logger
        )
        return buildApplication(dependencies, settings: ServerSettings(host: "127.0.0.1", port: 0))
    }
}
