import PostgresNIO

/// The databases of a PostgreSQL server, as its owner sees them: for setting up ClaimFlow's
/// own database in a cluster ClaimFlow has just started (the embedded default).
public struct DatabaseCatalog: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Creates the database unless it exists; returns whether it created it.
    ///
    /// A database name cannot be a bind parameter, so `name` must be a plain lower-case
    /// identifier (a constant of the caller's), and goes into the statement quoted.
    @discardableResult
    public func createDatabaseIfMissing(_ name: String) async throws -> Bool {
        precondition(
            name.utf8.count < 64 && name.first.map { !$0.isNumber } == true
                && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" },
            "'\(name)' is not a plain database name"
        )
        guard try await database.count("SELECT count(*)::int FROM pg_database WHERE datname = \(name)") == 0 else {
            return false
        }
        try await client.query("CREATE DATABASE \(unescaped: "\"" + name + "\"")", logger: logger)
        return true
    }
}
