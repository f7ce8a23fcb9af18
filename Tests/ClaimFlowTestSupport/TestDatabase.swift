public import ClaimFlowStore
import Foundation
public import Logging
public import PostgresNIO

/// A private database per test, on the server named by `DATABASE_URL`, dropped afterwards.
///
/// Tests run in parallel; a database of their own keeps their queues, advisory locks and
/// NOTIFY channels apart.
///
/// `scripts/test` also runs the suite through PgBouncer in transaction mode, shaped as a
/// deployment behind a pooler is (deploy/pgbouncer/pgbouncer.ini): `DATABASE_URL` is then a
/// PgBouncer for the schema owner's connections, `CLAIMFLOW_TEST_SERVICE_URL` a second one
/// whose `connect_query` sets the service role (PgBouncer 1.18 drops the `role` startup
/// parameter), and `CLAIMFLOW_TEST_DIRECT_URL` the server itself, for LISTEN only.
public enum TestDatabase {
    public static let logger: Logger = {
        var logger = Logger(label: "claimflow.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The pool warns when a query races its own start-up; tests start pools constantly.
    static let poolLogger: Logger = {
        var logger = Logger(label: "claimflow.tests.pool")
        logger.logLevel = .error
        return logger
    }()

    /// The server under test. Fails with a clear message when `DATABASE_URL` is unset.
    public static func serverURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else {
            throw TestSetupError(
                "DATABASE_URL is not set: run the tests with scripts/test, which starts a PostgreSQL for them"
            )
        }
        return try DatabaseURL(text)
    }

    /// Whether the suite runs through PgBouncer (see the type's comment).
    public static var throughPooler: Bool { environmentURL("CLAIMFLOW_TEST_SERVICE_URL") != nil }

    /// Where the service role's connections to `url`'s database go: the pooler whose
    /// `connect_query` sets the role when the suite runs through PgBouncer, else `url`.
    public static func serviceURL(for url: DatabaseURL) throws -> DatabaseURL {
        guard let text = environmentURL("CLAIMFLOW_TEST_SERVICE_URL") else { return url }
        return try DatabaseURL(text).with(database: url.database)
    }

    /// `url`'s database straight on the server, for what a pooler in transaction mode cannot
    /// carry, since it hands the session to other clients between transactions: LISTEN, and
    /// prepared statements read back from the session that prepared them.
    public static func directURL(for url: DatabaseURL) throws -> DatabaseURL {
        guard let text = environmentURL("CLAIMFLOW_TEST_DIRECT_URL") else { return url }
        return try DatabaseURL(text).with(database: url.database)
    }

    private static func environmentURL(_ name: String) -> String? {
        guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else { return nil }
        return text
    }

    /// Creates an empty database and returns its URL; drop it with ``drop(_:)``.
    public static func create(prefix: String = "cf_test") async throws -> DatabaseURL {
        // Behind PgBouncer 1.18 the hot path runs unprepared, as `serve` does when told
        // CLAIMFLOW_PREPARED_STATEMENTS=off (which scripts/test sets for that run).
        if ProcessInfo.processInfo.environment["CLAIMFLOW_PREPARED_STATEMENTS"] == "off" {
            Database.preparedStatementsByDefault = false
        }
        let server = try serverURL()
        let name = "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await withAdminClient(server) { admin in
            // A database name cannot be a bind parameter; this one is made of [a-z0-9_] above.
            try await admin.query("CREATE DATABASE \(unescaped: name)", logger: logger)
        }
        return server.with(database: name)
    }

    /// `DATABASE_URL` pointed at another database of the same server, for a `claimflow`
    /// process under test.
    public static func connectionString(for url: DatabaseURL) throws -> String {
        try connectionString(for: url, on: "DATABASE_URL")
    }

    /// The URL in environment variable `name` pointed at `url`'s database.
    static func connectionString(for url: DatabaseURL, on name: String) throws -> String {
        guard let base = environmentURL(name), var components = URLComponents(string: base) else {
            throw TestSetupError("\(name) is not set")
        }
        components.path = "/" + url.database
        guard let text = components.string else { throw TestSetupError("\(name) cannot be rewritten") }
        return text
    }

    /// Drops a database made by ``create(prefix:)``, closing anything still connected to it.
    public static func drop(_ url: DatabaseURL) async throws {
        try await withAdminClient(try serverURL()) { admin in
            try await admin.query("DROP DATABASE IF EXISTS \(unescaped: url.database) WITH (FORCE)", logger: logger)
        }
    }

    /// Runs `body` with a running client on a fresh, migrated database.
    public static func withMigrated<Result: Sendable>(
        maximumConnections: Int = 20,
        _ body: @Sendable (PostgresClient, DatabaseURL) async throws -> Result
    ) async throws -> Result {
        let url = try await create()
        do {
            let result = try await withClient(url, maximumConnections: maximumConnections) { client in
                try await Migrator(client: client, logger: logger).migrate()
                return try await body(client, url)
            }
            try await drop(url)
            return result
        } catch {
            try? await drop(url)
            throw error
        }
    }

    /// Runs `body` with a running client on `url`.
    /// With `role`, the client's connections run as that role (the service's, for instance).
    public static func withClient<Result: Sendable>(
        _ url: DatabaseURL,
        maximumConnections: Int = 20,
        role: String? = nil,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        // Through PgBouncer the service role comes from its pooler's connect_query.
        let target = role == DatabaseURL.serviceRole ? try serviceURL(for: url) : url
        let client = PostgresClient(
            configuration: target.clientConfiguration(maximumConnections: maximumConnections, role: role),
            backgroundLogger: poolLogger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Runs `body` with the client a LISTEN connection to `url`'s database should use:
    /// `client` itself, or, through PgBouncer, a pool of one straight to the server.
    public static func withListenClient<Result: Sendable>(
        _ url: DatabaseURL,
        sharing client: PostgresClient,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        guard environmentURL("CLAIMFLOW_TEST_DIRECT_URL") != nil else { return try await body(client) }
        return try await withClient(try directURL(for: url), maximumConnections: 1, body)
    }

    private static func withAdminClient(_ server: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        try await withClient(server, maximumConnections: 1, body)
    }
}

/// The test environment is not set up; the message says how to fix it.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
