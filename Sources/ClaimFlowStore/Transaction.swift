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
