public import ClaimFlowCore
public import PostgresNIO

/// The denial routing table (`denial_rules`): which queue and follow-up action a denial gets,
/// by group code, CARC, RARC and payer. The matching itself is ClaimFlowCore's
/// ``DenialRouting``; this store only reads the rules.
public struct DenialRuleStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// A rule row the binary cannot read: a queue or action added by a newer migration.
    public struct UnreadableRule: Error, Sendable, CustomStringConvertible {
        public let id: Int
        public let value: String

        public var description: String { "denial rule \(id) has the unknown queue or action \(value)" }
    }

    /// Every rule, by precedence, then id.
    public func all(on connection: PostgresConnection? = nil) async throws -> [DenialRule] {
        try await rules(
            """
            SELECT id, group_code, carc, rarc, payer_code, precedence, queue, action, description
            FROM denial_rules
            ORDER BY precedence, id
            """,
            on: connection
        )
    }

    /// The rule that routes a denial with these adjustments, remark codes and payer, read on
    /// `connection` when given (so inside the caller's posting transaction).
    ///
    /// Only rules that could match are loaded (their CARC among the reasons', their payer this
    /// one, or either left open); ``DenialRouting/route(reasons:remarkCodes:payerID:rules:)``
    /// decides among them.
    public func route(
        reasons: [DenialReason], remarkCodes: [String], payerID: String?, on connection: PostgresConnection? = nil
    ) async throws -> DenialRoute? {
        guard !reasons.isEmpty else { return nil }
        let carcs = Array(Set(reasons.map(\.reasonCode)))
        let candidates = try await rules(
            """
            SELECT id, group_code, carc, rarc, payer_code, precedence, queue, action, description
            FROM denial_rules
            WHERE (carc IS NULL OR carc = ANY (\(carcs)))
              AND (payer_code IS NULL OR payer_code = \(payerID))
            ORDER BY precedence, id
            """,
            on: connection
        )
        return DenialRouting.route(reasons: reasons, remarkCodes: remarkCodes, payerID: payerID, rules: candidates)
    }

    private func rules(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> [DenialRule] {
        let rows = try await database.query(query, on: connection)
        var rules: [DenialRule] = []
        for try await row in rows.decode((Int, String?, String?, String?, String?, Int, String, String, String).self) {
            guard let queue = DenialQueue(rawValue: row.6) else { throw UnreadableRule(id: row.0, value: row.6) }
            guard let action = DenialAction(rawValue: row.7) else { throw UnreadableRule(id: row.0, value: row.7) }
            rules.append(
                DenialRule(
                    id: row.0, groupCode: row.1, reasonCode: row.2, remarkCode: row.3, payerID: row.4, precedence: row.5,
                    queue: queue, action: action, description: row.8
                )
            )
        }
        return rules
    }
}
