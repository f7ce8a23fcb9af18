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
    /// connection runs as that role.
    static func withClient<Result: Sendable>(
        _ url: DatabaseURL,
        maximumConnections: Int = 20,
        role: String? = nil,
        logger: Logger,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(
            configuration: url.clientConfiguration(maximumConnections: maximumConnections, role: role),
            backgroundLogger: quieter(logger)
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Fails fast, in one line, when the server cannot be reached or refuses us.
    private static func probe(_ url: DatabaseURL, logger: Logger) async throws {
        do {
            try await url.checkConnection(logger: quieter(logger))
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
