import ClaimFlowCore
public import Logging
public import PostgresNIO

/// The connection pool a store works through and the logger its statements log to.
///
/// A store method that may run inside its caller's transaction takes an optional connection;
/// ``withConnection(_:_:)`` and ``transaction(joining:_:)`` are the one place that decides
/// between the caller's connection and one of the store's own.
public struct Database: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Where the stores count what they do.
    public let metrics: StoreMetrics
    /// Whether the hot path's statements run prepared (see ``preparedStatementsByDefault``).
    public var preparedStatements = Database.preparedStatementsByDefault

    public init(client: PostgresClient, logger: Logger, metrics: StoreMetrics = StoreMetrics()) {
        self.client = client
        self.logger = logger
        self.metrics = metrics
    }

    /// Runs `body` on `connection` when one is given (so it joins the caller's transaction),
    /// else on a connection from the pool.
    func withConnection<Result: Sendable>(
        _ connection: PostgresConnection?,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        if let connection { return try await body(connection) }
        return try await client.withConnection { try await body($0) }
    }

    /// Runs `body` in the caller's transaction when `connection` is given, else in a
    /// transaction of its own.
    func transaction<Result: Sendable>(
        joining connection: PostgresConnection? = nil,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        if let connection { return try await body(connection) }
        return try await client.transaction(logger: logger, body)
    }

    /// Runs one statement on `connection` when one is given, else on a pooled connection.
    @discardableResult
    func query(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> PostgresRowSequence {
        if let connection { return try await connection.query(query, logger: logger) }
        return try await client.query(query, logger: logger)
    }

    /// The first row of a statement's result, decoded as `column`; nil when it returns none.
    func first<Column: PostgresDecodable & Sendable>(
        _ column: Column.Type,
        _ query: PostgresQuery,
        on connection: PostgresConnection? = nil
    ) async throws -> Column? {
        for try await value in try await self.query(query, on: connection).decode(column) { return value }
        return nil
    }

    /// The count a statement ends with (`SELECT count(*)::int ...`); 0 when it returns no row.
    func count(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> Int {
        try await first(Int.self, query, on: connection) ?? 0
    }

    /// Takes the transaction-level advisory `lock` on `connection`, inside a transaction, and
    /// returns false at once when another session holds it. Released at commit or rollback, so
    /// it also works behind PgBouncer in transaction mode.
    func tryLock(_ lock: AdvisoryLock, on connection: PostgresConnection) async throws -> Bool {
        try await first(Bool.self, "SELECT pg_try_advisory_xact_lock(\(lock))", on: connection) ?? false
    }

    /// Takes the transaction-level advisory `lock`, waiting while another session holds it.
    func lock(_ lock: AdvisoryLock, on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(lock))", logger: logger)
    }
}

/// A type whose statements run through one ``Database``; `client` and `logger` are its
/// shorthands.
public protocol DatabaseBacked: Sendable {
    var database: Database { get }
}

extension DatabaseBacked {
    var client: PostgresClient { database.client }
    var logger: Logger { database.logger }
}

/// A store: the SQL of one part of the billing office. Made from a ``Database``, or from a
/// client and a logger.
public protocol DatabaseStore: DatabaseBacked {
    init(database: Database)
}

extension DatabaseStore {
    public init(client: PostgresClient, logger: Logger) {
        self.init(database: Database(client: client, logger: logger))
    }
}

/// A store whose changes move encounters through the ``WorkQueue``, in the same transaction:
/// it works through the queue's database.
public protocol QueueStore: DatabaseBacked {
    var queue: WorkQueue { get }
    init(queue: WorkQueue)
}

extension QueueStore {
    public var database: Database { queue.database }

    /// A store on `client`, logging to `logger`, whose queue has `queue`'s lease length.
    public init(client: PostgresClient, logger: Logger, queue: WorkQueue) {
        self.init(
            queue: WorkQueue(
                database: Database(client: client, logger: logger, metrics: queue.database.metrics), leaseDuration: queue.leaseDuration
            )
        )
    }
}

/// A transaction-level advisory lock that ClaimFlow processes agree on, by the key PostgreSQL
/// knows it by. The keys are those earlier releases used, so old and new processes running
/// side by side during an upgrade still exclude each other.
struct AdvisoryLock {
    fileprivate let key: SQLFragment

    /// The lease reaper's pass: one process at a time.
    static var leaseReaper: AdvisoryLock { AdvisoryLock(key: "\(Int64(0x436C_6169_6D52_6570))") }
    /// The submission batcher: one interchange numbered at a time.
    static var submissionBatcher: AdvisoryLock { AdvisoryLock(key: "hashtext('claimflow.submission-batcher')") }
    /// A whole pass of the submission batcher (write the unwritten, record, write, mark): one
    /// writer of the outbox folder at a time.
    static var submissionBatcherPass: AdvisoryLock { AdvisoryLock(key: "hashtext('claimflow.submission-batcher.pass')") }

    /// One save of a username at a time, so a name is created once.
    static func userName(_ name: String) -> AdvisoryLock { AdvisoryLock(key: "hashtext(\("claimflow.user." + name))") }

    /// One code-set import of a kind at a time.
    static func codeSetImport(_ kind: CodeSetKind) -> AdvisoryLock {
        AdvisoryLock(key: "hashtext(\("claimflow.codes." + kind.rawValue))")
    }
}

extension PostgresQuery.StringInterpolation {
    /// The lock's key, bound in this statement.
    mutating func appendInterpolation(_ lock: AdvisoryLock) throws {
        try append(lock.key)
    }
}

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

/// Thrown instead of waiting on a database that cannot be reached: a request that was still
/// waiting (for a pooled connection, most often) when the database went away, or that would
/// have waited past its bound. The HTTP layer answers it with 503 and `Retry-After`.
public struct DatabaseUnavailable: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension DatabaseUnavailable {
    /// Whether `error` means the database could not be reached or went away mid-statement
    /// (restart, crash, network), rather than that it refused the statement: these are worth
    /// retrying later, and no other kind is.
    ///
    /// Server errors count only for the SQLSTATEs a shutting-down or starting-up server sends
    /// (class 08, connection exception; 57P01-57P03, admin shutdown, crash shutdown, cannot
    /// connect now). The pool's circuit breaker and its shutdown count too.
    public static func matches(_ error: any Error) -> Bool {
        switch error {
        case is DatabaseUnavailable:
            return true
        case let error as PostgresTransactionError:
            let inner: (any Error)? = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
            return inner.map(matches) ?? false
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            case .server:
                guard let state = error.serverInfo?[.sqlState] else { return false }
                return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
            default:
                return false
            }
        default:
            // The pool's own errors (its circuit breaker tripped after connections kept failing,
            // or it shut down) come from a module ClaimFlow does not import; a cancelled wait
            // for a connection is not an outage.
            let type = String(reflecting: Swift.type(of: error))
            return type.hasSuffix(".ConnectionPoolError") && !String(describing: error).contains("requestCancelled")
        }
    }
}
