import PostgresNIO

/// Whether the database answers, for the readiness probe (`/readyz`).
public struct HealthStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// The role the connections run as (`current_user`).
    public func currentUser() async throws -> String {
        try await database.first(String.self, "SELECT current_user::text") ?? ""
    }

    /// One round trip to the server; throws when it cannot be made.
    public func ping() async throws {
        let rows = try await client.query("SELECT 1", logger: logger)
        for try await _ in rows {}
    }
}
