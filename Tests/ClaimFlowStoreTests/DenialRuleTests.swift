import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

/// One denial and where the shipped rules send it.
struct DenialCase: Sendable, CustomTestStringConvertible {
    let reasons: [DenialReason]
    let remarks: [String]
    let payer: String?
    let queue: DenialQueue
    let action: DenialAction

    init(_ reasons: String, remarks: [String] = [], payer: String? = nil, _ queue: DenialQueue, _ action: DenialAction) {
        self.reasons = reasons.split(separator: " ").map { code in
            let parts = code.split(separator: "-", maxSplits: 1).map(String.init)
            return DenialReason(groupCode: parts[0], reasonCode: parts[1])
        }
        self.remarks = remarks
        self.payer = payer
        self.queue = queue
        self.action = action
    }

    var testDescription: String {
        let codes = reasons.map { "\($0.groupCode)-\($0.reasonCode)" }.joined(separator: " ")
        return ([codes] + remarks + [payer.map { "payer \($0)" } ?? ""]).filter { !$0.isEmpty }.joined(separator: " ")
            + " -> \(queue.rawValue)/\(action.rawValue)"
    }

    /// The shipped defaults of sql/0007_denial_rules.sql, case by case.
    static let defaults: [DenialCase] = [
        // Coding CARCs (coding_denial_reasons), under CO, OA and PI.
        DenialCase("CO-4", .coding, .correctedClaim),
        DenialCase("CO-11", .coding, .correctedClaim),
        DenialCase("CO-97", .coding, .correctedClaim),
        DenialCase("PI-97", .coding, .correctedClaim),
        DenialCase("OA-146", .coding, .correctedClaim),
        DenialCase("CO-236", .coding, .correctedClaim),
        // CARC 16: the RARC decides.
        DenialCase("CO-16", remarks: ["M76"], .coding, .correctedClaim),
        DenialCase("CO-16", remarks: ["N290", "M81"], .coding, .correctedClaim),
        DenialCase("CO-16", remarks: ["MA63"], .coding, .correctedClaim),
        DenialCase("CO-16", remarks: ["M64"], .coding, .correctedClaim),
        DenialCase("CO-16", remarks: ["MA130"], .billing, .newOriginal),
        DenialCase("CO-16", .billing, .correctedClaim),
        DenialCase("CO-16", remarks: ["N290"], .billing, .correctedClaim),
        // Billing's follow-ups.
        DenialCase("CO-18", .billing, .noResend),
        DenialCase("OA-18", .billing, .noResend),
        DenialCase("CO-29", .billing, .appeal),
        DenialCase("CO-27", .billing, .eligibilityReview),
        DenialCase("CO-31", .billing, .eligibilityReview),
        DenialCase("CO-109", .billing, .eligibilityReview),
        DenialCase("CO-22", .billing, .eligibilityReview),
        DenialCase("CO-50", .billing, .appeal),
        DenialCase("CO-197", .billing, .appeal),
        DenialCase("CO-15", .billing, .appeal),
        DenialCase("OA-23", .billing, .noResend),
        DenialCase("CO-45", .billing, .writeOff),
        // The patient's share.
        DenialCase("PR-1", .patient, .billPatient),
        DenialCase("PR-2", .patient, .billPatient),
        DenialCase("PR-3", .patient, .billPatient),
        DenialCase("PR-96", .patient, .billPatient),
        DenialCase("PR-204", .patient, .billPatient),
        DenialCase("PR-11", .patient, .billPatient),
        // Catch-alls.
        DenialCase("CO-119", .billing, .appeal),
        DenialCase("OA-B7", .billing, .appeal),
        DenialCase("PI-B15", .billing, .appeal),
        DenialCase("PR-119", .patient, .billPatient),
        DenialCase("CR-16", .billing, .appeal),
        // Several reasons on one claim: the lowest precedence band wins.
        DenialCase("CO-45 PR-1", .patient, .billPatient),
        DenialCase("CO-45 CO-50", .billing, .appeal),
        DenialCase("CO-16 CO-11", remarks: ["N290"], .coding, .correctedClaim),
        DenialCase("CO-11 CO-18", .billing, .noResend),
        DenialCase("CO-16 CO-27", .billing, .eligibilityReview),
        DenialCase("CO-16", remarks: ["MA130", "M76"], .coding, .correctedClaim),
        // No payer has rules of its own by default.
        DenialCase("CO-29", payer: "87726", .billing, .appeal),
    ]
}

@Suite("Denial rules on a real PostgreSQL")
struct DenialRuleTests {
    static func store(_ client: PostgresClient) -> DenialRuleStore { DenialRuleStore(client: client, logger: TestDatabase.logger) }

    @Test("the shipped rules route each denial of the table to its queue and action")
    func shippedDefaults() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = Self.store(client)
            let rules = try await store.all()
            #expect(rules.count >= 40)
            #expect(rules == rules.sorted { ($0.precedence, $0.id) < ($1.precedence, $1.id) })
            #expect(DenialCase.defaults.count >= 20)
            for denial in DenialCase.defaults {
                let loaded = DenialRouting.route(reasons: denial.reasons, remarkCodes: denial.remarks, payerID: denial.payer, rules: rules)
                #expect(loaded?.queue == denial.queue, "\(denial.testDescription): \(loaded?.rule.description ?? "no rule")")
                #expect(loaded?.action == denial.action, "\(denial.testDescription): \(loaded?.rule.description ?? "no rule")")
                // The store's own route loads only candidate rules; it must pick the same one.
                let routed = try await store.route(reasons: denial.reasons, remarkCodes: denial.remarks, payerID: denial.payer)
                #expect(routed == loaded, "\(denial.testDescription)")
            }
        }
    }

    @Test("the coding rules agree with coding_denial_reasons")
    func codingRulesAgree() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let rows = try await client.query("SELECT carc FROM coding_denial_reasons", logger: TestDatabase.logger)
            var codingCARCs: Set<String> = []
            for try await carc in rows.decode(String.self) { codingCARCs.insert(carc) }
            #expect(codingCARCs.count == 14)

            let rules = try await Self.store(client).all()
            // Rules that send a CARC to coding whatever the RARC are exactly the coding CARCs.
            let byCARC = rules.filter { $0.queue == .coding && $0.remarkCode == nil && $0.payerID == nil }
            #expect(Set(byCARC.compactMap(\.reasonCode)) == codingCARCs)
            #expect(byCARC.allSatisfy { $0.action == .correctedClaim })

            // Each CARC either table or rules name: to coding under CO, OA and PI exactly when a coding CARC.
            let carcs = codingCARCs.union(rules.compactMap(\.reasonCode))
            for carc in carcs.sorted() {
                for group in ["CO", "OA", "PI"] {
                    let route = DenialRouting.route(
                        reasons: [DenialReason(groupCode: group, reasonCode: carc)], remarkCodes: [], payerID: nil, rules: rules
                    )
                    #expect((route?.queue == .coding) == codingCARCs.contains(carc), "\(group)-\(carc)")
                }
            }
        }
    }

    @Test("a payer's own rule beats the default at its precedence, for that payer only")
    func payerRule() async throws {
        try await TestDatabase.withMigrated { client, _ in
            try await client.query(
                """
                INSERT INTO denial_rules (group_code, carc, payer_code, precedence, queue, action, description)
                VALUES ('CO', '29', 'MCD01', 30, 'billing', 'write_off', 'Medicaid: no timely filing appeals')
                """,
                logger: TestDatabase.logger
            )
            let store = Self.store(client)
            let late = [DenialReason(groupCode: "CO", reasonCode: "29")]
            #expect(try await store.route(reasons: late, remarkCodes: [], payerID: "MCD01")?.action == .writeOff)
            #expect(try await store.route(reasons: late, remarkCodes: [], payerID: "MCD02")?.action == .appeal)
            #expect(try await store.route(reasons: late, remarkCodes: [], payerID: nil)?.action == .appeal)
            #expect(try await store.all().contains { $0.payerID == "MCD01" && $0.action == .writeOff })
            #expect(try await store.route(reasons: [], remarkCodes: ["M76"], payerID: nil) == nil)
        }
    }

    @Test("a rule cannot be entered twice, catch-alls included")
    func uniqueRules() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let defaults: [(String?, String?, String?)] = [("CO", "18", nil), ("CO", "16", "M76"), ("PR", nil, nil), (nil, nil, nil)]
            for (group, carc, rarc) in defaults {
                let error = await #expect(throws: PSQLError.self) {
                    try await client.query(
                        """
                        INSERT INTO denial_rules (group_code, carc, rarc, precedence, queue, action, description)
                        VALUES (\(group), \(carc), \(rarc), 1, 'billing', 'appeal', 'again')
                        """,
                        logger: TestDatabase.logger
                    )
                }
                #expect(error?.serverInfo?[.sqlState] == "23505")
                #expect(error?.serverInfo?[.constraintName] == "denial_rules_match_key")
            }
            // The same CARC for one payer is a new rule.
            try await client.query(
                """
                INSERT INTO denial_rules (group_code, carc, payer_code, precedence, queue, action, description)
                VALUES ('CO', '18', 'PAY1', 10, 'billing', 'no_resend', 'payer rule')
                """,
                logger: TestDatabase.logger
            )
        }
    }

    @Test("malformed codes and unknown queues or actions are refused")
    func checks() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let bad: [(String?, String?, String?, String, String)] = [
                ("XX", "16", nil, "billing", "appeal"),
                ("CO", "16!", nil, "billing", "appeal"),
                ("CO", "16", "Z76", "billing", "appeal"),
                ("CO", "16", nil, "collections", "appeal"),
                ("CO", "16", nil, "billing", "resubmit"),
            ]
            for (group, carc, rarc, queue, action) in bad {
                let error = await #expect(throws: PSQLError.self) {
                    try await client.query(
                        """
                        INSERT INTO denial_rules (group_code, carc, rarc, precedence, queue, action, description)
                        VALUES (\(group), \(carc), \(rarc), 5, \(queue), \(action), 'bad')
                        """,
                        logger: TestDatabase.logger
                    )
                }
                #expect(error?.serverInfo?[.sqlState] == "23514", "\(group ?? "*")-\(carc ?? "*") \(queue)/\(action)")
            }
        }
    }

    @Test("the queue, action and group code CHECKs list exactly Core's values")
    func checksMatchCore() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let rows = try await client.query(
                """
                SELECT a.attname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                WHERE c.conrelid = 'denial_rules'::regclass AND c.contype = 'c'
                  AND a.attname IN ('queue', 'action', 'group_code')
                """,
                logger: TestDatabase.logger
            )
            var lists: [String: Set<String>] = [:]
            for try await (column, definition) in rows.decode((String, String).self) {
                lists[column] = Set(
                    definition.split(separator: "'", omittingEmptySubsequences: false).enumerated()
                        .filter { $0.offset % 2 == 1 }.map { String($0.element) })
            }
            #expect(lists["queue"] == Set(DenialQueue.allCases.map(\.rawValue)))
            #expect(lists["action"] == Set(DenialAction.allCases.map(\.rawValue)))
            #expect(lists["group_code"] == Set(DenialReason.groupCodes))
        }
    }
}
