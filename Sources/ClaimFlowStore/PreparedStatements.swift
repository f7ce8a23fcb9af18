import Logging
import PostgresNIO
import Synchronization

/// Names one statement of the hot path (a caseless enum per statement): with prepared
/// statements on, each connection parses it once and PostgreSQL may keep its plan, instead
/// of parsing and planning it on every call.
protocol PreparedName {}

/// The statement texts the hot path has run, one per ``PreparedName``: the text is whatever
/// the first call built, and a later call with a different text runs unprepared rather than
/// under a name that means something else.
private let preparedTexts = Mutex<[ObjectIdentifier: String]>([:])

/// A hot-path statement as PostgresNIO prepares it: the name and text are the
/// ``PreparedName``'s, the values those of the call.
private struct Prepared<Name: PreparedName>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { "claimflow_\(Name.self)" }
    static var sql: String { preparedTexts.withLock { $0[ObjectIdentifier(Name.self)] } ?? "" }
    let bindings: PostgresBindings
    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// Calls that ran unprepared because their text differed from their name's first text.
private let textMismatches = Atomic<Int>(0)

/// Whether hot-path statements run prepared by default; see ``Database/preparedStatementsByDefault``.
private let preparedStatementsOn = Atomic<Bool>(true)

extension Database {
    /// Whether a ``Database`` made from now on runs the hot path's statements as prepared
    /// statements (the default). Set once at startup for the process: off behind a pooler in
    /// transaction mode that does not carry prepared statements across its server connections
    /// (PgBouncer before 1.21).
    public static var preparedStatementsByDefault: Bool {
        get { preparedStatementsOn.load(ordering: .relaxed) }
        set { preparedStatementsOn.store(newValue, ordering: .relaxed) }
    }

    /// Runs `query` as the prepared statement `name` on `connection` (or a pooled one), and
    /// returns its rows (hot-path statements return a few). With prepared statements off
    /// (a pooler that does not carry them), it runs as any other statement.
    func rows<Name: PreparedName>(
        _ query: PostgresQuery, prepared name: Name.Type, on connection: PostgresConnection? = nil
    ) async throws -> [PostgresRow] {
        guard preparedStatements, Self.claim(name, text: query.sql) else {
            var rows: [PostgresRow] = []
            for try await row in try await self.query(query, on: connection) { rows.append(row) }
            return rows
        }
        let statement = Prepared<Name>(bindings: query.binds)
        var rows: [PostgresRow] = []
        if let connection {
            for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
        } else {
            for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
        }
        return rows
    }

    /// How many hot-path calls so far built a text other than their name's first one (and so
    /// ran unprepared): a statement whose text varies with its values should not be named; the
    /// tests keep this at zero.
    public static var preparedTextMismatches: Int { textMismatches.load(ordering: .relaxed) }

    /// Records `text` as the statement `name` stands for, the first time; true when `name`
    /// stands for exactly `text`.
    private static func claim<Name: PreparedName>(_ name: Name.Type, text: String) -> Bool {
        let same = preparedTexts.withLock { texts in
            let key = ObjectIdentifier(name)
            if let known = texts[key] { return known == text }
            texts[key] = text
            return true
        }
        if !same { textMismatches.add(1, ordering: .relaxed) }
        return same
    }
}
