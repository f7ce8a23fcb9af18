import ClaimFlowHosting
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO

/// Opens ClaimFlow's database for a command: parses `DATABASE_URL` or starts the embedded
/// PostgreSQL, runs the connection pool, checks that the server answers, and cleans up after.
enum DatabaseSession {

    static func with<Result: Sendable>(
        _ options: DatabaseOptions,
        allowEmbedded: Bool,
        maximumConnections: Int = 20,
        role: String? = nil,
        logger: Logger,
        _ body: @Sendable (PostgresClient, DatabaseURL) async throws -> Result
    ) async throws -> Result {
        Database.preparedStatementsByDefault = try options.usesPreparedStatements()
        var embedded: EmbeddedPostgres?
        let url: DatabaseURL
        if let text = options.databaseURL {
            do {
                url = try DatabaseURL(text)
            } catch {
                throw CLIError(error.description)
            }
        } else if allowEmbedded {
            do {
                let server = try EmbeddedPostgres(
                    dataDirectory: options.dataDir,
                    binaries: options.postgresBin,
                    logger: logger
                )
                try await server.start()
                embedded = server
                url = server.url
            } catch let error as EmbeddedPostgresError {
                throw CLIError(error.description)
            }
        } else {
            throw CLIError(
                "DATABASE_URL is not set; set it to your PostgreSQL (postgres://user:password@host:5432/claimflow)"
            )
        }
        defer { embedded?.stop() }

        try await probe(url, logger: logger)
        do {
            return try await withClient(url, maximumConnections: maximumConnections, role: role, logger: logger) { client in
                try await body(client, url)
            }
        } catch let error as PSQLError {
            // One line, and nothing of the row values a server message can quote.
            throw CLIError("the database refused the operation: \(logSafeDescription(of: error))")
        } catch let error as StoreError {
            throw CLIError(error.detail)
        }
    }

    /// Runs a connection pool to `url` for the duration of `body`; with `role`, every
    /// connection runs as that role. A URL of several hosts (or one that must accept writes)
    /// gets a ``PrimaryRouter`` between the pool and its hosts.
    static func withClient<Result: Sendable>(
        _ url: DatabaseURL,
        maximumConnections: Int = 20,
        role: String? = nil,
        logger: Logger,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let router = url.needsRouter ? try await PrimaryRouter(url: url, logger: logger) : nil
        let client = PostgresClient(
            configuration: url.clientConfiguration(
                maximumConnections: maximumConnections, role: role, routerSocket: router?.socketPath),
            backgroundLogger: quieter(logger)
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            if let router { group.addTask { await router.run() } }
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            if let role { try await checkRole(role, of: client, logger: logger) }
            return try await body(client)
        }
    }

    /// Refuses to go on when the service's connections do not run as `role`: a pooler that
    /// drops the `role` startup parameter instead of refusing it would otherwise leave the
    /// service running as the schema's owner, with the audit trail's protection gone.
    private static func checkRole(_ role: String, of client: PostgresClient, logger: Logger) async throws {
        let actual = try await HealthStore(client: client, logger: quieter(logger)).currentUser()
        guard actual == role else {
            throw CLIError(
                """
                the service's database connections run as '\(actual)', not '\(role)': a pooler dropped the role \
                startup parameter; connect the service as a login role that takes it by default \
                (GRANT \(role) TO login_role; ALTER ROLE login_role SET role = '\(role)'; see deploy/README.md)
                """)
        }
    }

    /// Runs `body` with a pool of one connection to `CLAIMFLOW_LISTEN_URL` for the LISTEN
    /// connection, or with nil when that is unset (the listener then shares the main pool).
    static func withListenClient<Result: Sendable>(
        _ options: DatabaseOptions,
        logger: Logger,
        _ body: @Sendable (PostgresClient?) async throws -> Result
    ) async throws -> Result {
        guard let url = try options.listenURL() else { return try await body(nil) }
        try await probe(url, logger: logger)
        return try await withClient(url, maximumConnections: 1, logger: logger) { try await body($0) }
    }

    /// Fails fast, in one line, when the server cannot be reached or refuses us.
    private static func probe(_ url: DatabaseURL, logger: Logger) async throws {
        do {
            if url.needsRouter {
                let host = try await PrimaryRouter.firstUsableHost(of: url, logger: quieter(logger))
                logger.info("database host found", metadata: ["host": "\(host)", "hosts": "\(url.endpoints.count)"])
            } else {
                try await url.checkConnection(logger: quieter(logger))
            }
        } catch let error as NoUsableDatabaseHost {
            throw CLIError("cannot use PostgreSQL at \(url): \(error); check DATABASE_URL and that a primary is running")
        } catch {
            throw CLIError(
                "cannot connect to PostgreSQL at \(url): \(reason(for: error)); check DATABASE_URL and that the server is running"
            )
        }
    }

    /// The cause in a few words: the server's own message (which names no patient data at
    /// connect time) or the network error.
    static func reason(for error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying {
                let text = String(describing: underlying)
                if text.localizedCaseInsensitiveContains("refused") { return "connection refused" }
                if text.localizedCaseInsensitiveContains("timed out") || text.localizedCaseInsensitiveContains("timeout") {
                    return "connection timed out"
                }
                if text.localizedCaseInsensitiveContains("no such file") { return "no server socket there" }
                if text.localizedCaseInsensitiveContains("dns") || text.localizedCaseInsensitiveContains("resolve") {
                    return "host name not found"
                }
                return text.count > 160 ? String(text.prefix(160)) + "…" : text
            }
            return "\(error.code)"
        }
        return logSafeDescription(of: error)
    }

    /// The pool logs each failed connection attempt; the probe reports a failure once, in
    /// words, so the pool's own logger speaks only when the operator asked for debug output.
    private static func quieter(_ logger: Logger) -> Logger {
        var copy = logger
        if logger.logLevel > .debug { copy.logLevel = .critical }
        return copy
    }
}
