import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("Code sets on a real PostgreSQL")
struct CodeSetTests {
    static let april = CalendarDate("2026-04-01")!

    static func draft(
        _ diagnoses: [String], lines: [ServiceLine] = [ServiceLine(code: "99213", units: 1, charge: 100, pointers: [1])],
        dos: String = "2026-05-04"
    ) -> ClaimDraft {
        ClaimDraft(
            dateOfService: CalendarDate(dos)!, codes: CodeAssignment(diagnoses: diagnoses, lines: lines),
            billingProviderNPI: "1234567893", renderingProviderNPI: nil, payerCode: "P", subscriberMemberID: "M",
            placeOfService: "11"
        )
    }

    /// Imports `file` twice under one label: what each import did, the second expected to change nothing.
    static func importTwice(
        _ store: CodeSetStore, _ file: URL, kind: CodeSetKind, label: String, from: CalendarDate
    ) async throws -> (first: CodeSetStore.ImportSummary, again: CodeSetStore.ImportSummary) {
        let first = try await store.importFile(file, kind: kind, label: label, effectiveFrom: from, effectiveTo: nil)
        let again = try await store.importFile(file, kind: kind, label: label, effectiveFrom: from, effectiveTo: nil)
        return (first, again)
    }

    @Test("the shipped 2026 ICD-10-CM file: 98,225 rows, 74,724 billable; a second import changes nothing; facts for real codes")
    func icd10cm() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = CodeSetStore(client: client, logger: TestDatabase.logger)
            let (first, again) = try await Self.importTwice(
                store, FixtureFiles.icd10cm2026, kind: .icd10cm, label: "2026-04", from: Self.april)
            #expect(first.rows == 98_225)
            #expect(first.billableRows == 74_724)
            #expect(first.changed)
            #expect(!again.changed)
            #expect(again.stored == first.stored)
            #expect(try await store.releases().count == 1)

            let facts = try await store.facts(for: Self.draft(["E11", "E119", "QA00101", "Z9999"]))
            #expect(facts.diagnoses["E11"] == .header(suggestion: "E119"))
            #expect(facts.diagnoses["E119"] == .billable)
            #expect(facts.diagnoses["QA00101"] == .billable)
            #expect(facts.diagnoses["Z9999"] == nil)
            #expect(!(try await store.facts(for: Self.draft(["E119"], dos: "2026-03-31"))).diagnosisReleaseInForce)
        }
    }

    @Test("a code of the newer release is not in force on a date the older release covers")
    func releasesByDateOfService() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = CodeSetStore(client: client, logger: TestDatabase.logger)
            _ = try await store.importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "older",
                effectiveFrom: CalendarDate("2025-10-01")!, effectiveTo: CalendarDate("2026-03-31")!
            )
            _ = try await store.importFile(
                FixtureFiles.icd10cm2026, kind: .icd10cm, label: "2026-04", effectiveFrom: Self.april, effectiveTo: nil
            )
            let january = try await store.facts(for: Self.draft(["QA00101", "E119"], dos: "2026-01-15"))
            #expect(january.diagnoses["QA00101"] == .notInForce)
            #expect(january.diagnoses["E119"] == .billable)
            let findings = CodingRules.check(Self.draft(["QA00101"], dos: "2026-01-15"), facts: january)
            #expect(findings.map(\.rule) == ["diagnosis.not_in_force"])
            let may = try await store.facts(for: Self.draft(["QA00101"]))
            #expect(may.diagnoses["QA00101"] == .billable)
        }
    }

    @Test("HCPCS with modifiers, a CPT licensee table, NCCI edits and MUE limits from the CMS layouts")
    func procedureSets() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = CodeSetStore(client: client, logger: TestDatabase.logger)
            let from = CalendarDate("2026-01-01")!
            let hcpcs = try await store.importFile(
                FixtureFiles.url("codes/hcpcs-2026-sample.txt"), kind: .hcpcs, label: "2026", effectiveFrom: from, effectiveTo: nil
            )
            #expect(hcpcs.stored == 7)
            _ = try await store.importFile(
                FixtureFiles.url("codes/cpt-licensee-sample.csv"), kind: .cpt, label: "2026", effectiveFrom: from, effectiveTo: nil
            )
            let ncci = try await store.importFile(
                FixtureFiles.url("codes/ncci-ptp-2026q4-sample.txt"), kind: .ncciPTP, label: "2026Q4", effectiveFrom: from,
                effectiveTo: nil
            )
            #expect(ncci.stored == 6)
            let mue = try await store.importFile(
                FixtureFiles.url("codes/mue-practitioner-2026q4-sample.csv"), kind: .mue, label: "2026Q4", effectiveFrom: from,
                effectiveTo: nil
            )
            #expect(mue.stored == 6)

            let lines = [
                ServiceLine(code: "97530", units: 1, charge: 60, pointers: [1]),
                ServiceLine(code: "97140", modifiers: ["XS"], units: 1, charge: 50, pointers: [1]),
                ServiceLine(code: "36415", units: 3, charge: 10, pointers: [1]),
                ServiceLine(code: "36416", units: 1, charge: 10, pointers: [1]),
                ServiceLine(code: "G0439", units: 1, charge: 150, pointers: [1]),
                ServiceLine(
                    code: "J9999", units: 1, charge: 5, pointers: [1], drug: DrugIdentification(ndc: "00641036721", unit: "ML", quantity: 1)
                ),
                ServiceLine(code: "99299", units: 1, charge: 5, pointers: [1]),
            ]
            let facts = try await store.facts(for: Self.draft(["E119"], lines: lines))
            #expect(
                facts.ncciEdits == [NCCIEdit(column1: "97530", column2: "97140", modifierIndicator: 1)],
                "the 36415/36416 edit was deleted in 2012")
            #expect(facts.unitLimits["36415"] == 2)
            #expect(facts.knownHCPCS == ["G0439"])
            #expect(facts.cptTableLoaded && facts.knownCPT.contains("97140") && !facts.knownCPT.contains("99299"))
            #expect(facts.knownModifiers == ["XS"] && facts.modifierListLoaded)
            var withICD = facts
            withICD.diagnosisReleaseInForce = true
            withICD.diagnoses["E119"] = .billable
            let rules = CodingRules.check(Self.draft(["E119"], lines: lines), facts: withICD).map(\.rule)
            // 36416 and 99299 are not in the licensee's CPT table; J9999 is not in the HCPCS release;
            // 36415's MUE is a date-of-service edit (adjudication indicator 3 in the file).
            #expect(facts.unitLimitIndicators["36415"] == 3)
            #expect(rules == ["line.code_unknown", "line.code_unknown", "line.code_unknown", "line.mue_day"])
        }
    }

    @Test(
        "HCPCS added and termination dates from the CMS record (columns 269-276 and 285-292): a discontinued code or modifier in the release in force is refused after its last day"
    )
    func hcpcsDates() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = CodeSetStore(client: client, logger: TestDatabase.logger)
            // Records of the CMS 2016 annual file: G8943 (ended 2014-12-31, still listed), G8951
            // (discontinued in this update, ended 2015-12-31), G8952 and G8955 in force; modifiers
            // GT, JW in force and JF (2015-04-01 through 2015-06-30).
            let file = FixtureFiles.url("codes/hcpcs-2016-sample.txt")
            let from = CalendarDate("2015-01-01")!
            let (first, again) = try await Self.importTwice(store, file, kind: .hcpcs, label: "2016", from: from)
            #expect(first.rows == 7 && first.stored == 4 && first.billable == 2 && first.changed, "\(first)")
            #expect(!again.changed && again.stored == 4 && again.billable == 2)

            let lines = [
                ServiceLine(code: "99213", modifiers: ["JF"], units: 1, charge: 125, pointers: [1]),
                ServiceLine(code: "G8951", modifiers: ["GT"], units: 1, charge: 0, pointers: [1]),
                ServiceLine(code: "G8952", units: 1, charge: 0, pointers: [1]),
            ]
            let after = try await store.facts(for: Self.draft(["E119"], lines: lines, dos: "2016-01-04"))
            #expect(
                after.hcpcsLifespans == [
                    "G8951": CodeLifespan(added: CalendarDate("2013-01-01"), terminated: CalendarDate("2015-12-31")),
                    "G8952": CodeLifespan(added: CalendarDate("2013-01-01")),
                ])
            #expect(
                after.modifierLifespans == [
                    "JF": CodeLifespan(added: CalendarDate("2015-04-01"), terminated: CalendarDate("2015-06-30")),
                    "GT": CodeLifespan(added: CalendarDate("1999-01-01")),
                ])
            func rules(on date: String) async throws -> [String] {
                var facts = try await store.facts(for: Self.draft(["E119"], lines: lines, dos: date))
                facts.diagnosisReleaseInForce = true
                facts.diagnoses["E119"] = .billable
                return CodingRules.check(Self.draft(["E119"], lines: lines, dos: date), facts: facts).map(\.rule)
            }
            #expect(try await rules(on: "2016-01-04") == ["modifier.terminated", "line.hcpcs_terminated"])
            #expect(try await rules(on: "2015-12-31") == ["modifier.terminated"])
            #expect(try await rules(on: "2015-06-30") == [])
            #expect(try await rules(on: "2015-03-31") == ["modifier.not_yet_effective"])
        }
    }

    @Test("a HCPCS release imported before the dates were read is replaced, with its dates, when the same file is imported again")
    func hcpcsReleaseFromBeforeTheDates() async throws {
        let url = try await TestDatabase.create()
        do {
            try await TestDatabase.withClient(url) { client in
                let file = FixtureFiles.url("codes/hcpcs-2016-sample.txt")
                try await Migrator(client: client, logger: TestDatabase.logger, migrations: Migration.all.filter { $0.version < 17 })
                    .migrate()
                // The release as the importer wrote it then: the file's digest, codes without dates.
                let bytes = try Data(contentsOf: file)
                try await client.query(
                    """
                    WITH release AS (
                        INSERT INTO code_set_releases (kind, label, effective_from, source_sha256, row_count)
                        VALUES ('hcpcs', '2016', '2015-01-01', encode(sha256(\(ByteBuffer(bytes: bytes))::bytea), 'hex'), 7)
                        RETURNING id
                    )
                    INSERT INTO hcpcs_codes (release_id, code, short_description, long_description)
                    SELECT id, 'G8951', 'Pre-htn/htn doc, no pt f/u', 'Pre-hypertensive or hypertensive' FROM release
                    """,
                    logger: TestDatabase.logger)
                try await Migrator(client: client, logger: TestDatabase.logger).migrate()
                let store = CodeSetStore(client: client, logger: TestDatabase.logger)
                let again = try await store.importFile(
                    file, kind: .hcpcs, label: "2016", effectiveFrom: CalendarDate("2015-01-01")!, effectiveTo: nil)
                #expect(again.changed && again.stored == 4 && again.billable == 2, "\(again)")
                let facts = try await store.facts(
                    for: Self.draft(["E119"], lines: [ServiceLine(code: "G8951", units: 1, charge: 0, pointers: [1])], dos: "2016-01-04"))
                #expect(facts.hcpcsLifespans["G8951"]?.terminated == CalendarDate("2015-12-31"))
            }
            try await TestDatabase.drop(url)
        } catch {
            try? await TestDatabase.drop(url)
            throw error
        }
    }

    @Test(
        "a malformed file names its bad line, and the release in force before stays in force",
        arguments: [
            ("bad line", "codes/bad-line"),
            ("wrong layout", "codes/wrong-layout"),
            ("truncated gzip", "codes/truncated"),
        ])
    func malformedFiles(name: String, kind: String) async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = CodeSetStore(client: client, logger: TestDatabase.logger)
            let older = FixtureFiles.url("codes/icd10cm-older-subset-sample.txt")
            _ = try await store.importFile(older, kind: .icd10cm, label: "2026-04", effectiveFrom: Self.april, effectiveTo: nil)

            let directory = FileManager.default.temporaryDirectory.appending(path: "claimflow-bad-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file: URL
            let expected: String
            switch name {
            case "bad line":
                var lines = try String(contentsOf: older, encoding: .utf8).split(separator: "\n").map(String.init)
                lines[4] = "00099 E1!9    1 Broken row"
                file = directory.appending(path: "bad.txt")
                try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
                expected = "line 5: 'E1!9' is not an ICD-10-CM code"
            case "wrong layout":
                file = FixtureFiles.url("codes/mue-practitioner-2026q4-sample.csv")
                expected = "line 1: not in the ICD-10-CM order-file layout"
            default:
                let whole = try Data(contentsOf: FixtureFiles.icd10cm2026)
                file = directory.appending(path: "truncated.txt.gz")
                try whole.prefix(whole.count / 2).write(to: file)
                expected = "not a readable gzip file"
            }
            let error = await #expect(throws: CodeSetImportError.self) {
                _ = try await store.importFile(file, kind: .icd10cm, label: "2026-04", effectiveFrom: Self.april, effectiveTo: nil)
            }
            #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
            let releases = try await store.releases()
            #expect(releases.count == 1 && releases.first?.rows == 14)
            let facts = try await store.facts(for: Self.draft(["E119", "QA00101"]))
            #expect(facts.diagnoses["E119"] == .billable)
            #expect(facts.diagnoses["QA00101"] == nil)
        }
    }

    @Test(
        "the ICD-10-CM tabular's Excludes1 notes and manifestation codes, from the CDC's XML layout: counted, idempotent, and found for a claim's own codes at any level of the tree"
    )
    func tabularNotes() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = CodeSetStore(client: client, logger: TestDatabase.logger)
            let file = FixtureFiles.url("codes/icd10cm-tabular-2026-sample.xml")
            let from = CalendarDate("2025-10-01")!
            let (first, again) = try await Self.importTwice(store, file, kind: .icd10cmTabular, label: "2026", from: from)
            // Six <diag> codes; Excludes1 ranges: E08's 7 (E13 named three times), E11's 6, G63's 2
            // ("(E08-E13 with .42)" and "(in)" are not code lists); one manifestation, G63.
            #expect(first.rows == 6 && first.stored == 15 && first.billable == 1 && first.changed, "\(first)")
            #expect(!again.changed && again.stored == 15)
            #expect(
                try await client.query("SELECT count(*)::int FROM icd10cm_excludes1", logger: TestDatabase.logger).collect().first?.decode(
                    Int.self) == 15)

            // E08.42 with E11.9: E08's note names E11.-, E11's names E08.-; each pair found at the
            // note's own level (E08 and E11), whatever the depth of the claim's codes.
            let pair = try await store.facts(for: Self.draft(["E0842", "E119"]))
            #expect(
                Set(pair.excludes1) == [
                    Excludes1Pair(code: "E0842", excluded: "E119", noted: "E08"),
                    Excludes1Pair(code: "E119", excluded: "E0842", noted: "E11"),
                ])
            #expect(pair.manifestations.isEmpty)
            let manifestation = try await store.facts(for: Self.draft(["G63", "E119"]))
            #expect(manifestation.manifestations == ["G63"] && manifestation.excludes1.isEmpty)
            // Before the release is in force, nothing of it applies.
            #expect(try await store.facts(for: Self.draft(["E0842", "E119"], dos: "2025-09-30")).excludes1.isEmpty)

            var judged = pair
            judged.diagnosisReleaseInForce = true
            judged.diagnoses = ["E0842": .billable, "E119": .billable, "G63": .billable]
            #expect(CodingRules.check(Self.draft(["E0842", "E119"]), facts: judged).map(\.path) == ["$.diagnoses[1]"])
            judged.excludes1 = []
            judged.manifestations = manifestation.manifestations
            #expect(
                CodingRules.check(Self.draft(["G63", "E119"]), facts: judged).map(\.rule) == [
                    "diagnosis.manifestation_first", "line.manifestation_first",
                ])

            // Not the tabular: named, and nothing stored.
            await #expect(throws: (any Error).self) {
                try await store.importFile(
                    FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cmTabular, label: "wrong",
                    effectiveFrom: from, effectiveTo: nil)
            }
            #expect(
                try await client.query(
                    "SELECT count(*)::int FROM code_set_releases WHERE label = 'wrong'", logger: TestDatabase.logger
                ).collect().first?.decode(Int.self) == 0)
        }
    }

    @Test(
        "the physician fee schedule's PC/TC and bilateral indicators from its RVU file: the header found by name, modifier rows skipped; 26 and TC judged by them"
    )
    func feeScheduleIndicators() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = CodeSetStore(client: client, logger: TestDatabase.logger)
            let file = FixtureFiles.url("codes/pfs-rvu-2026-sample.csv")
            let from = CalendarDate("2026-01-01")!
            let (first, again) = try await Self.importTwice(store, file, kind: .feeSchedule, label: "2026A", from: from)
            #expect(first.rows == 6 && first.stored == 6 && first.changed, "\(first)")
            #expect(!again.changed && again.stored == 6)

            let line = { (code: String, modifiers: [String]) in
                ServiceLine(code: code, modifiers: modifiers, units: 1, charge: 50, pointers: [1])
            }
            let lines = [line("71046", ["26"]), line("93010", ["26"]), line("93005", ["TC"]), line("99213", []), line("77067", ["50"])]
            let facts = try await store.facts(for: Self.draft(["E119"], lines: lines))
            #expect(facts.pcTCIndicators == ["71046": 1, "93010": 2, "93005": 3, "99213": 0, "77067": 1])
            #expect(facts.bilateralIndicators == ["71046": 0, "93010": 0, "93005": 0, "99213": 9, "77067": 2])
            var judged = facts
            judged.diagnosisReleaseInForce = true
            judged.diagnoses["E119"] = .billable
            let findings = CodingRules.check(Self.draft(["E119"], lines: lines), facts: judged)
            // 26 on the split 71046 passes; on 93010 (professional only) and TC on 93005
            // (technical only) they do not; 50 on 77067, bilateral already, does not either.
            #expect(
                findings.map { "\($0.rule) \($0.path)" } == [
                    "modifier.no_pc_tc_split $.lines[1].modifiers[0]", "modifier.no_pc_tc_split $.lines[2].modifiers[0]",
                    "modifier.50_not_bilateral $.lines[4].modifiers[0]",
                ])

            await #expect(throws: (any Error).self) {
                try await store.importFile(
                    FixtureFiles.url("codes/mue-practitioner-2026q4-sample.csv"), kind: .feeSchedule, label: "wrong",
                    effectiveFrom: from, effectiveTo: nil)
            }
        }
    }
}
