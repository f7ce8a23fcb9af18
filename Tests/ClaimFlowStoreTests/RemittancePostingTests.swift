import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("835 remittances posted on a real PostgreSQL")
struct RemittancePostingTests {
    /// Two lines, so a payer can pay one and deny the other: 99213 at 125.00 and 36415 at 25.00.
    static let twoLines = CodeAssignment(
        diagnoses: ["E119"],
        lines: [
            ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1]),
            ServiceLine(code: "36415", units: 1, charge: 25, pointers: [1]),
        ])

    struct Scene {
        let fixture: Fixture
        /// Claim ids by name, all sent in one interchange.
        let claims: [String: UUID]

        /// The claim's CLM01; a made-up one for a name the scene did not send.
        func pcn(_ name: String) -> String { claims[name].map(X12Claim.patientControlNumber(for:)) ?? "NOTSENT\(name)" }
        func line(_ name: String, _ number: Int) -> String {
            "REF*6R*" + X12Claim.lineItemControlNumber(patientControlNumber: pcn(name), line: number)
        }

        static func make(_ client: PostgresClient, _ names: [String]) async throws -> Scene {
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            var claims: [String: UUID] = [:]
            for name in names {
                claims[name] = try await fixture.submittedClaim("REMIT-\(name)", coder: coder, biller: biller, codes: twoLines)
            }
            try #require(try await fixture.recordInterchange() != nil)
            return Scene(fixture: fixture, claims: claims)
        }

        func value(_ query: PostgresQuery) async throws -> String {
            var result: [String] = []
            for try await text in try await fixture.client.query(query, logger: TestDatabase.logger).decode(String?.self) {
                result.append(text ?? "NULL")
            }
            return result.joined(separator: ",")
        }

        func stage(_ name: String) async throws -> String {
            try await value("SELECT e.stage FROM encounters e JOIN claims c ON c.encounter_id = e.id WHERE c.id = \(claims[name]!)")
        }
    }

    /// The payer's claim loops of the file every test here posts: one claim of each kind.
    static func loops(_ scene: Scene) -> (claims: [[String]], plb: [String], good: [String]) {
        let line = scene.line
        let pcn = scene.pcn
        func paid(_ name: String, status: String) -> [String] {
            [
                "CLP*\(pcn(name))*\(status)*150*100*5*12*PCN-\(name)*11*1", "NM1*QC*1*PATIENT*TEST****MI*M1",
                "SVC*HC:99213*125*90**1", "DTM*472*20261102", "CAS*CO*45*35", line(name, 1), "AMT*B6*90",
                "SVC*HC:36415*25*10**1", "DTM*472*20261102", "CAS*CO*45*10", "CAS*PR*2*5", line(name, 2), "AMT*B6*15",
            ]
        }
        let claims: [[String]] = [
            paid("A", status: "1"),
            paid("B", status: "2"),
            paid("C", status: "3"),
            // Denied: unprocessable, missing information (CO-16 with MA130) wants a new original.
            ["CLP*\(pcn("D"))*4*150*0*0*12*PCN-D*11*1", "CAS*CO*16*150", "MOA***MA130"],
            paid("E", status: "19"),
            paid("F", status: "20"),
            paid("G", status: "21"),
            // A reversal of the earlier payment (posted before this file), then the correction.
            ["CLP*\(pcn("H"))*22*-150*-100*0*12*PCN-H*11*1", "CAS*CO*45*-50"],
            ["CLP*\(pcn("H"))*1*150*120*0*12*PCN-H2*11*1", "CAS*CO*45*30"],
            // Not this payer's claim.
            ["CLP*\(pcn("I"))*23*150*0*0*12*PCN-I*11*1", "CAS*OA*109*150"],
            // Predetermination: priced, nothing paid.
            ["CLP*\(pcn("J"))*25*150*0*0*12*PCN-J*11*1", "CAS*CO*45*150"],
            // A split claim: each line answered in a CLP of its own.
            ["CLP*\(pcn("K"))*1*125*90*0*12*PCN-K*11*1", "SVC*HC:99213*125*90**1", "CAS*CO*45*35", line("K", 1)],
            ["CLP*\(pcn("K"))*1*25*20*0*12*PCN-K*11*1", "SVC*HC:36415*25*20**1", "CAS*CO*45*5", line("K", 2)],
            // Paid, but the second line denied at $0 (bundled, CO-97): back to coding.
            [
                "CLP*\(pcn("L"))*1*150*90*0*12*PCN-L*11*1", "SVC*HC:99213*125*90**1", "CAS*CO*45*35", line("L", 1),
                "SVC*HC:36415*25*0**1", "CAS*CO*97*25", line("L", 2), "LQ*HE*M15",
            ],
            // A claim ClaimFlow never sent.
            ["CLP*00000000000000000000*1*100*100*0*12*PCN-X*11*1"],
            // Out of balance: 150 − 10 is not 100.
            ["CLP*\(pcn("M"))*1*150*100*0*12*PCN-M*11*1", "CAS*CO*45*10"],
        ]
        // Recoupment of an earlier overpayment, and interest paid.
        let plb = ["PLB*1234567893*20261231*WO:PCN-OLD*35*L6*-2.5"]
        return (claims, plb, ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"])
    }

    static func file(_ scene: Scene) -> String {
        let (claims, plb, _) = loops(scene)
        // BPR02 = ΣCLP04 − ΣPLB04: 6 × 100 + 0 − 100 + 120 + 0 + 0 + 90 + 20 + 90 + 100 + 100 − 32.50.
        let total = Decimal(string: "987.50")!
        return X12AnswerFiles.payment(total: total, check: "EFT-MIXED", claims: claims, providerAdjustments: plb)
    }

    static let names = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M"]

    /// H's first payment, which the mixed file reverses.
    static func firstPaymentOfH(_ scene: Scene) async throws {
        let text = X12AnswerFiles.payment(
            total: 100, check: "EFT-FIRST",
            claims: [["CLP*\(scene.pcn("H"))*1*150*100*0*12*PCN-H*11*1", "CAS*CO*45*50"]], control: 906)
        let posting = try await scene.fixture.postRemittance(text)
        #expect(posting.claims.map(\.outcome) == ["paid"])
    }

    @Test("a file of every CLP02 status, a reversal pair, a split claim, a line denial, PLB, an unknown and an out-of-balance claim")
    func mixedFile() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client, Self.names)
            try await Self.firstPaymentOfH(scene)
            let text = Self.file(scene)
            let posting = try await scene.fixture.postRemittance(text)

            let outcomes = posting.claims.map { "\($0.patientControlNumber == "00000000000000000000" ? "X" : $0.outcome)" }
            #expect(
                outcomes == [
                    "paid", "paid", "paid", "denied", "paid", "paid", "paid", "reversed", "paid", "forwarded", "predetermination",
                    "paid", "paid", "paid", "X", "exception",
                ])
            // The bad ones are exceptions with a reason; nothing else is.
            #expect(posting.exceptions.map(\.kind).sorted() == ["out_of_balance", "unknown_claim"])
            #expect(posting.exceptions.allSatisfy { !$0.reason.isEmpty })
            #expect(posting.exceptions.first { $0.kind == "out_of_balance" }?.claimID == scene.claims["M"])
            #expect(posting.providerAdjustments.map(\.reasonCode) == ["WO", "L6"])

            // Every good CLP is posted, the bad ones are not.
            let posted = try await scene.value(
                "SELECT count(*)::text FROM claim_payments p JOIN remittances r ON r.id = p.remittance_id WHERE r.check_number = 'EFT-MIXED'"
            )
            #expect(posted == "14")
            #expect(try await scene.value("SELECT count(*)::text FROM claim_payments WHERE claim_id = \(scene.claims["M"]!)") == "0")

            // Meanings: paid, denied and routed, reversed and corrected, split, line denial.
            for name in ["A", "B", "C", "E", "F", "G", "K"] { #expect(try await scene.stage(name) == "paid", "\(name)") }
            #expect(try await scene.stage("D") == "ready_to_bill")
            #expect(
                try await scene.value(
                    "SELECT frequency_code FROM claims WHERE encounter_id = (SELECT encounter_id FROM claims WHERE id = \(scene.claims["D"]!)) AND version = 2"
                ) == "1")
            #expect(try await scene.value("SELECT paid_amount::text FROM claims WHERE id = \(scene.claims["H"]!)") == "120.00")
            #expect(try await scene.value("SELECT paid_amount::text FROM claims WHERE id = \(scene.claims["K"]!)") == "110.00")
            #expect(try await scene.stage("L") == "rework")
            #expect(try await scene.stage("J") == "submitted")
            let followups = try await scene.value(
                """
                SELECT string_agg(c.id::text || ':' || f.queue || ':' || f.action || ':' || f.group_code || '-' || f.carc, ' ' ORDER BY f.id)
                FROM denial_followups f JOIN claims c ON c.id = f.claim_id
                """)
            #expect(followups.contains("\(scene.claims["A"]!.uuidString.lowercased()):patient:bill_patient:PR-2"))
            #expect(followups.contains("\(scene.claims["D"]!.uuidString.lowercased()):billing:new_original:CO-16"))
            #expect(followups.contains("\(scene.claims["L"]!.uuidString.lowercased()):coding:corrected_claim:CO-97"))
            #expect(followups.contains("\(scene.claims["I"]!.uuidString.lowercased()):billing:eligibility_review:OA-23"))
            #expect(!followups.contains(scene.claims["J"]!.uuidString.lowercased()))

            // The same file again posts nothing and changes nothing.
            let before = try await TableSnapshot.take(client)
            let again = try await scene.fixture.postRemittance(text)
            #expect(try await TableSnapshot.take(client).differences(from: before) == [])
            #expect(again.claims.allSatisfy { !$0.changed })
            #expect(again.providerAdjustments.allSatisfy { !$0.changed })
            #expect(again.claims.map(\.outcome) == posting.claims.map(\.outcome))
        }
    }

    @Test("every posted claim balances at line, claim and file level, summed from the database")
    func balancing() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client, Self.names)
            try await Self.firstPaymentOfH(scene)
            try await scene.fixture.postRemittance(Self.file(scene))

            // Claim: CLP03 − ΣCAS (claim and lines) = CLP04.
            let claims = try await scene.value(
                """
                SELECT count(*)::text || '/' || count(*) FILTER (
                    WHERE p.charge - coalesce((SELECT sum(a.amount) FROM payment_adjustments a WHERE a.payment_id = p.id), 0) = p.paid)
                FROM claim_payments p
                """)
            #expect(claims == "15/15")
            // Line: SVC02 − ΣCAS = SVC03.
            let lines = try await scene.value(
                """
                SELECT count(*)::text || '/' || count(*) FILTER (
                    WHERE l.charge - coalesce((SELECT sum(a.amount) FROM payment_adjustments a
                                               WHERE a.payment_id = l.payment_id AND a.line_index = l.line_index), 0) = l.paid)
                FROM payment_lines l
                """)
            #expect(lines == "16/16")
            // Every line went to the claim line it pays, by REF*6R.
            #expect(try await scene.value("SELECT count(*)::text FROM payment_lines WHERE line_number IS NULL") == "0")
            // File: ΣCLP04 (posted, and held as exceptions) − ΣPLB04 = BPR02.
            let files = try await scene.value(
                """
                SELECT string_agg(r.check_number || '=' || (
                    coalesce((SELECT sum(p.paid) FROM claim_payments p WHERE p.remittance_id = r.id), 0)
                    + coalesce((SELECT sum(x.paid) FROM remittance_exceptions x
                                WHERE x.remittance_id = r.id AND x.clp_position IS NOT NULL), 0)
                    - coalesce((SELECT sum(a.amount) FROM provider_adjustments a WHERE a.remittance_id = r.id), 0)
                    = r.total_paid)::text, ',' ORDER BY r.id)
                FROM remittances r
                """)
            #expect(files == "EFT-FIRST=true,EFT-MIXED=true")
            #expect(try await scene.value("SELECT count(*)::text FROM remittances WHERE balance_finding IS NOT NULL") == "0")
            // The PLB rows: a recoupment taken and interest paid.
            #expect(
                try await scene.value("SELECT string_agg(reason_code || ':' || amount, ',' ORDER BY id) FROM provider_adjustments")
                    == "WO:35.00,L6:-2.50")
        }
    }

    @Test("a claim's money history: charges, payments and adjustments by line, balance and patient share")
    func moneyHistory() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client, ["A"])
            let (claims, _, _) = Self.loops(scene)
            try await scene.fixture.postRemittance(X12AnswerFiles.payment(total: 100, check: "EFT-A", claims: [claims[0]]))
            let money = try await RemittanceStore(client: client, logger: TestDatabase.logger, queue: scene.fixture.queue)
                .money(claimID: scene.claims["A"]!, practiceIDs: [scene.fixture.practiceID])
            #expect(money.totalCharge == 150)
            #expect(money.paid == 100)
            #expect(money.adjusted == 45)
            #expect(money.patientResponsibility == 5)
            #expect(money.balance == 0)
            #expect(money.lines.map(\.paid) == [90, 10])
            #expect(money.lines.map(\.adjusted) == [35, 10])
            #expect(money.lines.map(\.patientResponsibility) == [0, 5])
            #expect(money.payments.count == 1)
            #expect(money.followups.map(\.action) == ["bill_patient"])
            // Another practice sees nothing of it.
            await #expect(throws: StoreError.self) {
                _ = try await RemittanceStore(client: client, logger: TestDatabase.logger, queue: scene.fixture.queue)
                    .money(claimID: scene.claims["A"]!, practiceIDs: [UUID()])
            }
        }
    }

    @Test("a file posted halfway finishes on its next upload; an exception settles when a later upload posts it")
    func resumesAndSettles() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client, ["A", "B"])
            let (claims, _, _) = Self.loops(scene)
            let text = X12AnswerFiles.payment(total: 200, check: "EFT-AB", claims: [claims[0], claims[1]])
            // The first upload is by a user who sees no practice: nothing is found, all exceptions.
            guard case .remittance(let payments) = try X12AnswerParser.read(text).answer else { Issue.record("not an 835"); return }
            let store = RemittanceStore(client: client, logger: TestDatabase.logger, queue: scene.fixture.queue)
            let blind = try await store.post(payments, fileText: text, practiceIDs: [UUID()], audit: .system)
            #expect(blind.claims.map(\.outcome) == ["exception", "exception"])
            let posting = try await scene.fixture.postRemittance(text)
            #expect(posting.claims.map(\.outcome) == ["paid", "paid"])
            #expect(posting.claims.allSatisfy { $0.changed })
            #expect(try await scene.value("SELECT count(*)::text FROM remittance_exceptions WHERE resolved_at IS NULL") == "0")
        }
    }

    @Test("a resend's frequency follows the action and the payer's profile; a corrected claim has the corrected-claim filing limit")
    func resendFrequencyAndFilingLimit() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let scene = try await Scene.make(client, ["C", "N", "P"])
            try await client.query(
                "UPDATE payers SET filing_limit_days = 365, corrected_filing_limit_days = 90 WHERE id = \(scene.fixture.payerID)",
                logger: TestDatabase.logger)
            func denial(_ name: String, remark: String?) -> [String] {
                ["CLP*\(scene.pcn(name))*4*150*0*0*12*PCN-\(name)*11*1", "CAS*CO*16*150"] + (remark.map { ["MOA***\($0)"] } ?? [])
            }
            try await scene.fixture.postRemittance(
                X12AnswerFiles.payment(total: 0, check: "EFT-CN", claims: [denial("C", remark: nil), denial("N", remark: "MA130")]))
            // A payer that takes no replacements gets a new original for the same denial.
            try await client.query(
                "UPDATE payers SET accepts_corrections = false WHERE id = \(scene.fixture.payerID)", logger: TestDatabase.logger)
            try await scene.fixture.postRemittance(X12AnswerFiles.payment(total: 0, check: "EFT-P", claims: [denial("P", remark: nil)]))
            func resent(_ name: String) async throws -> String {
                try await scene.value(
                    """
                    SELECT c.frequency_code || '/' || (w.filing_deadline - w.date_of_service)::text
                    FROM claims c JOIN work_items w ON w.encounter_id = c.encounter_id
                    WHERE c.encounter_id = (SELECT encounter_id FROM claims WHERE id = \(scene.claims[name]!)) AND c.version = 2
                    """)
            }
            #expect(try await resent("C") == "7/90")
            #expect(try await resent("N") == "1/365")
            #expect(try await resent("P") == "1/365")
        }
    }
}
