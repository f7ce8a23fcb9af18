import ClaimFlowTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import ClaimFlowStore

/// A multi-host `DATABASE_URL` against two live servers: private PostgreSQL clusters that take
/// TLS only, with certificates for 127.0.0.1 and localhost from one test CA. Which one accepts
/// writes is switched with `default_transaction_read_only`, as a standby refuses writes.
@Suite("multi-host database URLs against live servers")
struct PrimaryRouterTests {
    static let logger: Logger = {
        var logger = Logger(label: "claimflow.tests.router")
        logger.logLevel = .critical
        return logger
    }()

    @Test(
        "target_session_attrs=read-write: the pool reaches the host that accepts writes, through TLS checked per host, and follows it when the other takes over",
        .timeLimit(.minutes(5))
    )
    func followsTheWritableHost() async throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "claimflow-router-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let authority = try await TestCertificateAuthority.make(name: "one", in: folder)
        let certificate = try await authority.issueServerCertificate("postgres")
        let first = try await TLSPostgres.start(certificate: certificate, in: folder)
        defer { first.stop() }
        let second = try await TLSPostgres.start(certificate: certificate, in: folder)
        defer { second.stop() }
        // One password for both, as a primary and its standby share their roles.
        try await Self.run(
            "ALTER USER claimflow PASSWORD '\(first.password)'",
            on: second.url(sslmode: "verify-full", rootCertificate: authority.certificatePath))
        let ca = authority.certificatePath
        // Each server on its own, with the shared password.
        let firstAlone = first.url(sslmode: "verify-full", rootCertificate: ca)
        let secondAlone = second.url(sslmode: "verify-full", rootCertificate: ca)
            .replacingOccurrences(of: second.password, with: first.password)
        let text =
            "postgres://claimflow:\(first.password)@127.0.0.1:\(first.port),localhost:\(second.port)/postgres"
            + "?sslmode=verify-full&sslrootcert=\(ca)&target_session_attrs=read-write"
        let url = try DatabaseURL(text)

        // The first host is a "standby": the second is the one to use.
        try await Self.setReadOnly(true, url: firstAlone)
        let found = try await PrimaryRouter.firstUsableHost(of: url, logger: Self.logger)
        #expect(found.port == second.port)

        let router = try await PrimaryRouter(url: url, logger: Self.logger)
        let client = PostgresClient(
            configuration: url.clientConfiguration(maximumConnections: 4, routerSocket: router.socketPath),
            backgroundLogger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await router.run() }
            group.addTask { await client.run() }
            defer { group.cancelAll() }

            let before = try await Self.write(through: client)
            #expect(before.port == second.port, "the pool writes to the writable host")
            #expect(before.encrypted, "the router's connection to the server is TLS")

            // A "promotion": the second turns read-only, the first takes writes. The router's
            // watch sees it within seconds; until then a write may fail, never reach the wrong host.
            try await Self.setReadOnly(false, url: firstAlone)
            try await Self.setReadOnly(true, url: secondAlone)
            let switched = ContinuousClock.now
            var after: (port: Int, encrypted: Bool)?
            var failedWrites = 0
            while after == nil, ContinuousClock.now - switched < .seconds(40) {
                do { after = try await Self.write(through: client) } catch {
                    failedWrites += 1
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let took = ContinuousClock.now - switched
            print("router: writes reached the new writable host \(took) after the switch (\(failedWrites) refused meanwhile)")
            #expect(after?.port == first.port, "writes follow the host that accepts them")
            // Seconds alone, a few times that on a machine busy with the rest of the suite.
            #expect(took < .seconds(30))
        }

        // Neither accepts writes: none is usable, and the message says why for each.
        try await Self.setReadOnly(true, url: firstAlone)
        let neither = await #expect(throws: NoUsableDatabaseHost.self) {
            try await PrimaryRouter.firstUsableHost(of: url, logger: Self.logger)
        }
        #expect(neither?.reasons.count == 2)
        #expect(neither?.reasons.allSatisfy { $0.hasSuffix("does not accept writes") } == true, "\(neither?.reasons ?? [])")
        #expect(neither?.description.contains(first.password) == false)

        // One host down: its reason is the refused connection, and the other still qualifies.
        try await Self.setReadOnly(false, url: firstAlone)
        second.stop()
        let survivor = try await PrimaryRouter.firstUsableHost(of: url, logger: Self.logger)
        #expect(survivor.port == first.port)
    }

    /// Writes a row over `client` and says which server took it and whether the session is TLS.
    static func write(through client: PostgresClient) async throws -> (port: Int, encrypted: Bool) {
        try await withDeadline(.seconds(30), "a write through the router") {
            try await client.query("CREATE TABLE IF NOT EXISTS router_writes (at timestamptz)", logger: logger)
            try await client.query("INSERT INTO router_writes VALUES (now())", logger: logger)
            let rows = try await client.query(
                "SELECT inet_server_port(), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: logger)
            for try await (port, ssl) in rows.decode((Int, Bool).self) { return (port, ssl) }
            throw TestSetupError("no answer")
        }
    }

    /// Makes a server refuse writes in every session (as a standby does), or take them again.
    static func setReadOnly(_ readOnly: Bool, url: String) async throws {
        try await run("ALTER SYSTEM SET default_transaction_read_only = \(readOnly ? "on" : "off")", on: url)
        try await run("SELECT pg_reload_conf()", on: url)
        // The reload reaches the sessions at their next statement; new sessions see it at once.
        try await Task.sleep(for: .milliseconds(200))
    }

    static func run(_ statement: String, on text: String) async throws {
        let url = try DatabaseURL(text)
        try await withDeadline(.seconds(30), "a statement on one server") {
            var configuration: PostgresConnection.Configuration = try url.serverConfiguration()
            configuration.options.connectTimeout = .seconds(10)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            do {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }
}
