public import Logging
public import PostgresNIO

extension PostgresClient {
    /// Runs `body` in a transaction and, when it fails, throws the body's own error rather
    /// than PostgresNIO's wrapper, so a ``StoreError`` reaches its caller as itself.
    public func transaction<Result: Sendable>(
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }
}

extension PostgresClient {
    /// Runs `body` on `connection` when one is given (so it joins the caller's transaction),
    /// else on a connection from the pool.
    func using<Result: Sendable>(
        _ connection: PostgresConnection?,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        if let connection { return try await body(connection) }
        return try await withConnection { try await body($0) }
    }
}
