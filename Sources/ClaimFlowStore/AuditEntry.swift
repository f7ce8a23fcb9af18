import ClaimFlowCore
import Foundation
import Logging
import PostgresNIO

/// One row for the audit trail (`events`): the one place the event insert is written.
///
/// Who acted, from where and under which request come from the ``AuditContext``; the other
/// columns are ``SQLFragment``s over the rows the event is about (`encounter: "id"`,
/// `rows: "FROM moved"`) or bound values (`to: "\(stage.rawValue)"`). A column left out is
/// NULL, the detail `{}`, as the table's defaults.
///
/// Interpolated into a statement (`logged AS (\(entry))`) the insert joins that statement,
/// so a move and its event stay one round trip; ``write(on:logger:)`` runs it alone.
struct AuditEntry {
    let insert: SQLFragment

    /// - Parameter rows: the `FROM ...` clause the values are read from; none for one row of
    ///   bound values.
    init(
        _ action: String,
        by audit: AuditContext,
        encounter: SQLFragment = "NULL::uuid",
        practice: SQLFragment = "NULL::uuid",
        from: SQLFragment = "NULL::text",
        to: SQLFragment = "NULL::text",
        lease: SQLFragment = "NULL::uuid",
        detail: SQLFragment = "'{}'::jsonb",
        rows: SQLFragment = ""
    ) {
        self.init(
            action: "\(action)", by: audit, encounter: encounter, practice: practice, from: from, to: to, lease: lease,
            detail: detail, rows: rows)
    }

    /// The same insert with the action read from the rows as well (`action: "step.action"`),
    /// so events of several kinds are written by one insert, in the order its rows give.
    init(
        action: SQLFragment,
        by audit: AuditContext,
        encounter: SQLFragment = "NULL::uuid",
        practice: SQLFragment = "NULL::uuid",
        from: SQLFragment = "NULL::text",
        to: SQLFragment = "NULL::text",
        lease: SQLFragment = "NULL::uuid",
        detail: SQLFragment = "'{}'::jsonb",
        rows: SQLFragment = ""
    ) {
        insert = """
            INSERT INTO events (encounter_id, practice_id, actor_id, action, from_stage, to_stage, lease_id,
                                client_address, request_id, detail)
            SELECT \(encounter), \(practice), \(audit.actorID), \(action), \(from), \(to), \(lease),
                   \(audit.clientAddress), \(audit.requestID), \(detail)
            \(rows)
            """
    }

    /// Appends the event as a statement of its own, on the caller's connection (so inside
    /// the caller's transaction).
    func write(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("\(self)", logger: logger)
    }
}

extension SQLFragment.StringInterpolation {
    /// The entry's insert inside a larger fragment.
    mutating func appendInterpolation(_ entry: AuditEntry) {
        appendInterpolation(entry.insert)
    }
}

extension PostgresQuery.StringInterpolation {
    /// Writes the entry's `INSERT INTO events ... SELECT ...`, its values bound in this statement.
    mutating func appendInterpolation(_ entry: AuditEntry) throws {
        try append(entry.insert)
    }
}

extension AuditContext {
    /// The same request, with `actorID` as the actor (a puller acting for themselves, a holder
    /// finishing their own lease).
    func acting(as actorID: UUID?) -> AuditContext {
        var copy = self
        copy.actorID = actorID
        return copy
    }
}
