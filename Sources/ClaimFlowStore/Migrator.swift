import ClaimFlowCore
import Crypto
public import Foundation
public import Logging
public import PostgresNIO

/// One numbered schema change from `sql/`, carried inside the binary.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// SHA-256 of the SQL text, recorded when applied so an edited migration is noticed.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Every migration of this build, in order. File names are `NNNN_name.sql`.
    public static let all: [Migration] = embeddedMigrationFiles.compactMap { file in
        let stem = file.name.hasSuffix(".sql") ? String(file.name.dropLast(4)) : file.name
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
            return nil
        }
        return Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: file.text)
    }
    .sorted { $0.version < $1.version }
}

/// A migration and whether (and when) the database has it.
public struct MigrationStatus: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let appliedAt: Date?
}

/// Brings a database's schema up to date with this build.
///
/// Each migration runs in its own transaction and is recorded in `schema_migrations`. A
/// transaction-level advisory lock, taken by each of those transactions, serialises concurrent
/// runs: when two `claimflow migrate` processes race, each migration is applied by one while
/// the other waits, then finds it applied.
public struct Migrator: DatabaseBacked {
    /// Arbitrary but fixed: the advisory-lock key that every ClaimFlow migrator agrees on.
    static let lockKey: Int64 = 0x436C_6169_6D46_6C6F

    public let database: Database
    let migrations: [Migration]

    public init(client: PostgresClient, logger: Logger, migrations: [Migration] = Migration.all) {
        self.database = Database(client: client, logger: logger)
        self.migrations = migrations
    }

    /// Applies every pending migration and returns the ones it applied.
    ///
    /// Each step is a transaction of its own that first takes the migration lock
    /// (transaction-level, so it ends with the step even behind a pooler in transaction mode,
    /// which may run each transaction on another server connection) and then looks again at
    /// what is applied: racing runs apply each migration once and wait for each other.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await client.withConnection { connection in
            try await connection.withTransaction(logger: logger) { transaction in
                try await lock(transaction)
                try await transaction.query(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version    integer PRIMARY KEY,
                        name       text NOT NULL,
                        checksum   text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                    logger: logger
                )
            }
            var newlyApplied: [Migration] = []
            for migration in migrations where try await apply(migration, on: connection) {
                newlyApplied.append(migration)
            }
            try await syncStageTransitions(on: connection)
            return newlyApplied
        }
    }

    /// Applies `migration` unless it is applied already (checking that it is the same text);
    /// true when this call applied it.
    private func apply(_ migration: Migration, on connection: PostgresConnection) async throws -> Bool {
        // The mismatch is reported after the transaction, so it reaches the caller as itself.
        let appliedBefore: String? = try await connection.withTransaction(logger: logger) { transaction in
            try await lock(transaction)
            if let existing = try await appliedMigrations(on: transaction)[migration.version] { return existing.checksum }
            logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            try await runScript(migration.sql, on: transaction)
            try await transaction.query(
                """
                INSERT INTO schema_migrations (version, name, checksum)
                VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                """,
                logger: logger
            )
            return nil
        }
        guard let appliedBefore else { return true }
        guard appliedBefore == migration.checksum else {
            throw MigrationError.checksumMismatch(version: migration.version, name: migration.name)
        }
        return false
    }

    /// Takes the migration lock for the rest of `transaction`, as the login user itself.
    ///
    /// Behind a pooler whose `connect_query` sets the service role on every server connection
    /// (deploy/pgbouncer/pgbouncer.ini), the connection runs as claimflow_app, which may not
    /// change the schema; `SET LOCAL ROLE NONE` returns this transaction, and only it, to the
    /// login user (the schema's owner), so `serve` and `migrate` work through that pooler too.
    /// On a connection already running as the login user it changes nothing.
    private func lock(_ transaction: PostgresConnection) async throws {
        try await transaction.query("SET LOCAL ROLE NONE", logger: logger)
        try await transaction.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
    }

    /// Every migration of this build, with the time it was applied if it was.
    public func status() async throws -> [MigrationStatus] {
        let applied = try await client.withConnection { connection in
            try await appliedMigrations(on: connection)
        }
        return migrations.map { migration in
            MigrationStatus(
                version: migration.version,
                name: migration.name,
                appliedAt: applied[migration.version]?.appliedAt
            )
        }
    }

    /// Whether the database has every migration of this build.
    public func isCurrent() async throws -> Bool {
        try await status().allSatisfy { $0.appliedAt != nil }
    }

    /// Runs a multi-statement script. The extended query protocol takes one statement at a
    /// time, so the script goes as a bind parameter to PL/pgSQL's EXECUTE, which takes many.
    private func runScript(_ sql: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            CREATE OR REPLACE FUNCTION pg_temp.claimflow_run_script(script text) RETURNS void
            LANGUAGE plpgsql AS $$ BEGIN EXECUTE script; END $$
            """,
            logger: logger
        )
        try await connection.query("SELECT pg_temp.claimflow_run_script(\(sql))", logger: logger)
    }

    /// Copies ``StageTransitions/allowed`` into the table the stage trigger consults, so the
    /// database and the store enforce one list.
    private func syncStageTransitions(on connection: PostgresConnection) async throws {
        let transitions = StageTransitions.allowed.sorted { ($0.from.rawValue, $0.to.rawValue) < ($1.from.rawValue, $1.to.rawValue) }
        let from = transitions.map(\.from.rawValue)
        let to = transitions.map(\.to.rawValue)
        try await connection.withTransaction(logger: logger) { transaction in
            try await lock(transaction)
            try await transaction.query("DELETE FROM stage_transitions", logger: logger)
            try await transaction.query(
                "INSERT INTO stage_transitions (from_stage, to_stage) SELECT * FROM unnest(\(from)::text[], \(to)::text[])",
                logger: logger
            )
        }
    }

    private func appliedMigrations(
        on connection: PostgresConnection
    ) async throws -> [Int: (checksum: String, appliedAt: Date)] {
        let exists = try await connection.query(
            "SELECT to_regclass('schema_migrations') IS NOT NULL",
            logger: logger
        )
        for try await (present) in exists.decode(Bool.self) where !present { return [:] }
        var result: [Int: (checksum: String, appliedAt: Date)] = [:]
        let rows = try await connection.query(
            "SELECT version, checksum, applied_at FROM schema_migrations",
            logger: logger
        )
        for try await (version, checksum, appliedAt) in rows.decode((Int, String, Date).self) {
            result[version] = (checksum, appliedAt)
        }
        return result
    }
}

/// Why the schema could not be brought up to date.
public enum MigrationError: Error, Sendable, CustomStringConvertible {
    /// An applied migration's SQL differs from this build's: someone edited a released file.
    case checksumMismatch(version: Int, name: String)

    public var description: String {
        switch self {
        case .checksumMismatch(let version, let name):
            "migration \(version) (\(name)) was changed after it was applied; add a new migration instead"
        }
    }
}
