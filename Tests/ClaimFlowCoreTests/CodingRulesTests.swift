import ClaimFlowCore
import Foundation
import Testing

@Suite("Handoff rules")
struct CodingRulesTests {
    /// Facts as the April 2026 ICD-10-CM release and the CMS samples give them.
    static let facts = CodeFacts(
        diagnosisReleaseInForce: true,
        diagnoses: [
            "E119": .billable, "I10": .billable, "QA00101": .billable, "E11": .header(suggestion: "E119"),
            "M1711": .billable, "N400": .billable, "O80": .billable, "P0730": .billable, "W19XXXA": .billable,
            "S0990XA": .billable, "Z0000": .billable,
        ],
        hcpcsReleaseInForce: true,
        knownHCPCS: ["G0439", "J1100"],
        modifierListLoaded: true,
        knownModifiers: ["25", "26", "50", "58", "59", "78", "79", "XS", "LT", "RT"],
        unitLimits: ["36415": 2, "20610": 2, "J1100": 120],
        // 20610's MUE is judged by date of service (adjudication indicator 2), as in the CMS file.
        unitLimitIndicators: ["20610": 2],
        ncciEdits: [
            NCCIEdit(column1: "20610", column2: "76942", modifierIndicator: 0),
            NCCIEdit(column1: "97530", column2: "97140", modifierIndicator: 1),
        ]
    )

    static func draft(
        diagnoses: [String] = ["E119"],
        lines: [ServiceLine] = [ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1])],
        npi: String = "1234567893",
        renderingNPI: String? = "1234567893",
        payer: String? = "PAY1",
        subscriber: String? = "M1",
        placeOfService: String? = "11",
        total: Decimal? = nil
    ) -> ClaimDraft {
        ClaimDraft(
            dateOfService: CalendarDate("2026-05-04")!, codes: CodeAssignment(diagnoses: diagnoses, lines: lines),
            billingProviderNPI: npi, renderingProviderNPI: renderingNPI, payerCode: payer, subscriberMemberID: subscriber,
            placeOfService: placeOfService, claimTotal: total
        )
    }

    static func rules(_ draft: ClaimDraft, facts: CodeFacts = facts) -> [String] {
        CodingRules.check(draft, facts: facts).map(\.rule)
    }

    @Test("a clean claim has no findings")
    func clean() {
        #expect(CodingRules.check(Self.draft(diagnoses: ["E119", "I10"]), facts: Self.facts).isEmpty)
    }

    @Test("E11 is a header with a suggestion; E119 is billable")
    func header() {
        let findings = CodingRules.check(Self.draft(diagnoses: ["E11"]), facts: Self.facts)
        #expect(findings.map(\.rule) == ["diagnosis.header"])
        #expect(findings.first?.message == "E11 is a category header; pick a billable code such as E119")
        #expect(findings.first?.path == "$.diagnoses[0]")
        #expect(CodingRules.blocks(findings))
        #expect(Self.rules(Self.draft(diagnoses: ["E119"])).isEmpty)
    }

    @Test("QA00101, new in 2026 with a letter in second place, is valid")
    func newCode() {
        #expect(CodeFormat.normalizedDiagnosis("QA00101") == "QA00101")
        #expect(Self.rules(Self.draft(diagnoses: ["QA00101"])).isEmpty)
    }

    @Test("E11.9 is normalised to E119; nonsense is not a code")
    func normalisation() {
        #expect(CodeFormat.normalizedDiagnosis("E11.9") == "E119")
        #expect(CodeFormat.normalizedDiagnosis("e11.9") == "E119")
        #expect(CodeFormat.normalizedDiagnosis("11.9") == nil)
        #expect(CodeFormat.normalizedDiagnosis("E1") == nil)
    }

    @Test("a code not in force on the date of service, and an unknown one")
    func notInForce() {
        var facts = Self.facts
        facts.diagnoses["QA00101"] = .notInForce
        #expect(Self.rules(Self.draft(diagnoses: ["QA00101"]), facts: facts) == ["diagnosis.not_in_force"])
        #expect(Self.rules(Self.draft(diagnoses: ["Z9999"])) == ["diagnosis.unknown"])
        var none = Self.facts
        none.diagnosisReleaseInForce = false
        #expect(Self.rules(Self.draft(diagnoses: ["E119"]), facts: none) == ["diagnosis.no_release"])
    }

    @Test("13 diagnoses are too many; 12 are fine")
    func diagnosisCount() {
        var facts = Self.facts
        let codes = (0..<13).map { "A0\($0 < 10 ? "0" : "")\($0)" }
        for code in codes { facts.diagnoses[code] = .billable }
        #expect(Self.rules(Self.draft(diagnoses: codes), facts: facts) == ["diagnosis.too_many"])
        #expect(Self.rules(Self.draft(diagnoses: Array(codes.prefix(12))), facts: facts).isEmpty)
        #expect(Self.rules(Self.draft(diagnoses: [])) == ["diagnosis.missing", "line.pointer_missing"])
    }

    @Test("a pointer to a missing diagnosis")
    func pointers() {
        let line = ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1, 3])
        let findings = CodingRules.check(Self.draft(diagnoses: ["E119", "I10"], lines: [line]), facts: Self.facts)
        #expect(findings.map(\.rule) == ["line.pointer_missing"])
        #expect(findings.first?.path == "$.lines[0].pointers[1]")
        let fixed = ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1, 2])
        #expect(Self.rules(Self.draft(diagnoses: ["E119", "I10"], lines: [fixed])).isEmpty)
    }

    @Test("an NCCI pair with indicator 1 needs an allowed modifier; indicator 0 never passes")
    func ncci() {
        let bare = [
            ServiceLine(code: "97530", units: 1, charge: 60, pointers: [1]),
            ServiceLine(code: "97140", units: 1, charge: 50, pointers: [1]),
        ]
        let findings = CodingRules.check(Self.draft(lines: bare), facts: Self.facts)
        #expect(findings.map(\.rule) == ["ncci.pair"])
        #expect(findings.first?.path == "$.lines[1].code")
        let withModifier = [bare[0], ServiceLine(code: "97140", modifiers: ["59"], units: 1, charge: 50, pointers: [1])]
        #expect(Self.rules(Self.draft(lines: withModifier)).isEmpty)

        let never = [
            ServiceLine(code: "20610", modifiers: ["RT"], units: 1, charge: 90, pointers: [1]),
            ServiceLine(code: "76942", modifiers: ["59"], units: 1, charge: 40, pointers: [1]),
        ]
        #expect(Self.rules(Self.draft(lines: never)) == ["ncci.pair"])
    }

    @Test(
        "the NCCI bypass modifiers: 59 and the global surgery modifiers 58, 78 and 79 let an indicator-1 pair through; 26 does not",
        arguments: [("59", true), ("58", true), ("78", true), ("79", true), ("XS", true), ("26", false)])
    func ncciBypass(_ modifier: String, _ passes: Bool) {
        let lines = [
            ServiceLine(code: "97530", units: 1, charge: 60, pointers: [1]),
            ServiceLine(code: "97140", modifiers: [modifier], units: 1, charge: 50, pointers: [1]),
        ]
        #expect(Self.rules(Self.draft(lines: lines)) == (passes ? [] : ["ncci.pair"]))
    }

    @Test("a date-of-service MUE adds the units of every line of the code; a line MUE judges each line alone")
    func mueByDay() {
        let line = { (code: String, units: Decimal) in ServiceLine(code: code, units: units, charge: 10, pointers: [1]) }
        // 20610: MUE 2 by date of service. One unit on each of two lines is at the limit.
        #expect(Self.rules(Self.draft(lines: [line("20610", 1), line("20610", 1)])).isEmpty)
        #expect(Self.rules(Self.draft(lines: [line("20610", 2), line("20610", 1)])) == ["line.mue_day"])
        #expect(Self.rules(Self.draft(lines: [line("20610", 3)])) == ["line.mue_day"])
        // 36415: MUE 2 per line (no indicator). Two lines of 2 pass, one of 3 does not.
        #expect(Self.rules(Self.draft(lines: [line("36415", 2), line("36415", 2)])).isEmpty)
        #expect(Self.rules(Self.draft(lines: [line("36415", 2), line("36415", 3)])) == ["line.mue"])
    }

    @Test("quality-data codes ride at $0.00 beside a charged service: CPT II 3074F and G8427 pass, 99213 at $0 does not")
    func qualityCodesAtZero() {
        let visit = ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1])
        let cptII = ServiceLine(code: "3074F", units: 1, charge: 0, pointers: [1])
        let gCode = ServiceLine(code: "G8427", units: 1, charge: 0, pointers: [1])
        var facts = Self.facts
        facts.knownHCPCS.insert("G8427")
        #expect(CodingRules.check(Self.draft(lines: [visit, cptII, gCode]), facts: facts).isEmpty)
        #expect(Self.rules(Self.draft(lines: [ServiceLine(code: "99214", units: 1, charge: 0, pointers: [1]), visit])) == ["line.charge"])
    }

    @Test(
        "sex and age fit: N40.0 on a man, O80 at 30, P07.30 on a newborn, Z00.00 first, W19.XXXA after the injury; unknown sex is not judged"
    )
    func diagnosisEditsThatPass() {
        func draft(_ sex: Sex, born: String, _ diagnoses: [String], pointers: [Int] = [1]) -> ClaimDraft {
            var draft = Self.draft(diagnoses: diagnoses, lines: [ServiceLine(code: "99213", units: 1, charge: 125, pointers: pointers)])
            draft.patientSex = sex
            draft.patientBirthDate = CalendarDate(born)
            return draft
        }
        #expect(Self.rules(draft(.male, born: "1960-01-01", ["N400"])).isEmpty)
        #expect(Self.rules(draft(.female, born: "1996-01-01", ["O80"])).isEmpty)
        #expect(Self.rules(draft(.male, born: "2026-04-20", ["P0730"])).isEmpty)
        #expect(Self.rules(draft(.unknown, born: "1970-01-01", ["N400"])).isEmpty)
        #expect(Self.rules(draft(.female, born: "1970-01-01", ["Z0000", "E119"])).isEmpty)
        #expect(Self.rules(draft(.female, born: "1970-01-01", ["S0990XA", "W19XXXA"])).isEmpty)
        // The age turns on the birthday: 64 the day before a 65th birthday, 65 on it.
        #expect(DiagnosisEdits.age(born: CalendarDate("1961-05-05")!, on: CalendarDate("2026-05-04")!) == 64)
        #expect(DiagnosisEdits.age(born: CalendarDate("1961-05-04")!, on: CalendarDate("2026-05-04")!) == 65)
        // Z00.6 (a clinical research exam) is the one Z00 that may stand second.
        #expect(!DiagnosisEdits.isFirstListedOnly("Z006") && DiagnosisEdits.isFirstListedOnly("Z00121"))
        #expect(DiagnosisEdits.applicability(of: "D0730")?.sex == .female && DiagnosisEdits.applicability(of: "D075")?.sex == .male)
        #expect(DiagnosisEdits.applicability(of: "O9A211")?.sex == .female && DiagnosisEdits.applicability(of: "Q56") == nil)
    }

    @Test("the tabular's code lists: codes, categories with their dash, ranges; other text left out; a broken file named")
    func tabularReferences() throws {
        let refs = TabularFile.references(
            in: "type 2 (E11.-), gestational (O24.4-), (E08-E13), (M05.0-M05.3, R73.9) (in) (E08-E13 with .42)")
        #expect(refs.map { "\($0.0)-\($0.1)" } == ["E11-E11", "O244-O244", "E08-E13", "M050-M053", "R739-R739"])
        let wrongRoot = Array("<?xml version=\"1.0\"?><ICD10CM.index></ICD10CM.index>".utf8)
        #expect(throws: TabularFile.LayoutError.self) { try TabularFile.notes(wrongRoot) }
        let broken = Array("<ICD10CM.tabular><chapter><diag><name>E11</name>".utf8)
        #expect(throws: TabularFile.LayoutError.self) { try TabularFile.notes(broken) }
        let notes = try TabularFile.notes(
            Array(
                """
                <ICD10CM.tabular><chapter><section id="G60-G65"><diag><name>G63</name>
                <desc>Polyneuropathy in diseases classified elsewhere</desc>
                <excludes1><note>diphtheria (A36.83)</note></excludes1>
                <diag><name>G63.1</name><desc>Child &amp; more</desc></diag></diag></section></chapter></ICD10CM.tabular>
                """.utf8))
        #expect(notes.codes == 2 && notes.manifestations == ["G63"])
        #expect(notes.excludes1 == [TabularFile.Excludes1(code: "G63", from: "A3683", through: "A3683")])
    }

    @Test(
        "a HCPCS record's added and termination dates: read from columns 269-276 and 285-292, blank or 9999 read as none, anything else named"
    )
    func hcpcsRecordDates() throws {
        /// A 320-character record of `code` with `added`, `effective` and `terminated` in their columns.
        func record(_ code: String, _ id: String, added: String, effective: String, terminated: String, action: String) -> String {
            func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
            return pad(pad(pad(code, 5) + "00100" + id + "Compounded drug", 268) + added + effective + pad(terminated, 8) + action, 320)
        }
        let modifier = record("   JF", "7", added: "20150401", effective: "20150701", terminated: "20150630", action: "D")
        #expect(
            try CodeSetParser.parse(Substring(modifier), number: 1, kind: .hcpcs)
                == .modifier(
                    code: "JF", description: "Compounded drug",
                    lifespan: CodeLifespan(added: CalendarDate("2015-04-01"), terminated: CalendarDate("2015-06-30"))))
        let open = record("G8952", "3", added: "20130101", effective: "20130101", terminated: "99991231", action: "N")
        guard case .procedure(_, _, _, let lifespan) = try CodeSetParser.parse(Substring(open), number: 1, kind: .hcpcs) else {
            Issue.record("not a procedure")
            return
        }
        #expect(lifespan == CodeLifespan(added: CalendarDate("2013-01-01")))
        // A record cut after its descriptions (some extracts trim trailing columns) has no dates.
        let short = String(record("G8952", "3", added: "", effective: "", terminated: "", action: "").prefix(119))
        guard case .procedure(_, _, _, let none) = try CodeSetParser.parse(Substring(short), number: 1, kind: .hcpcs) else {
            Issue.record("not a procedure")
            return
        }
        #expect(none == CodeLifespan())
        let broken = record("G8951", "3", added: "20130101", effective: "20160101", terminated: "2015-12-", action: "D")
        let error = #expect(throws: CodeSetLineError.self) { try CodeSetParser.parse(Substring(broken), number: 4, kind: .hcpcs) }
        #expect(error?.description == "line 4: the termination date in columns 285-292 must be YYYYMMDD, not '2015-12-'")
    }

    @Test("units over the MUE are refused; at the MUE they pass")
    func mue() {
        let over = [ServiceLine(code: "36415", units: 3, charge: 10, pointers: [1])]
        let findings = CodingRules.check(Self.draft(lines: over), facts: Self.facts)
        #expect(findings.map(\.rule) == ["line.mue"])
        #expect(findings.first?.path == "$.lines[0].units")
        #expect(Self.rules(Self.draft(lines: [ServiceLine(code: "36415", units: 2, charge: 10, pointers: [1])])).isEmpty)
    }

    @Test("NPI 1234567893 passes the check digit; 1234567890 does not")
    func npi() {
        #expect(Self.rules(Self.draft(npi: "1234567893")).isEmpty)
        let findings = CodingRules.check(Self.draft(npi: "1234567890"), facts: Self.facts)
        #expect(findings.map(\.rule) == ["claim.billing_npi"])
        #expect(findings.first?.path == "$.billing_provider.npi")
    }

    @Test("a claim total that does not equal its lines")
    func total() {
        let lines = [
            ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1]),
            ServiceLine(
                code: "J1100", units: 10, charge: 12.5, pointers: [1],
                drug: DrugIdentification(ndc: "00641036721", unit: "ML", quantity: 10)),
        ]
        #expect(Self.rules(Self.draft(lines: lines, total: 130)) == ["claim.total"])
        #expect(Self.rules(Self.draft(lines: lines, total: 137.5)).isEmpty)
    }

    @Test("HCPCS codes must be in the release; unknown modifiers warn without blocking")
    func hcpcsAndModifiers() {
        let drug = DrugIdentification(ndc: "00641036721", unit: "ML", quantity: 1)
        #expect(
            Self.rules(Self.draft(lines: [ServiceLine(code: "J9999", units: 1, charge: 10, pointers: [1], drug: drug)])) == [
                "line.code_unknown"
            ])
        let odd = CodingRules.check(
            Self.draft(lines: [ServiceLine(code: "G0439", modifiers: ["ZZ"], units: 1, charge: 10, pointers: [1])]),
            facts: Self.facts
        )
        #expect(odd.map(\.rule) == ["line.modifier_unknown"])
        #expect(!CodingRules.blocks(odd))
        // CPT's own modifiers (two digits) are never in the HCPCS file's modifier records.
        var levelIIOnly = Self.facts
        levelIIOnly.knownModifiers = ["XS", "LT", "RT"]
        let cptModifiers = Self.draft(lines: [ServiceLine(code: "99213", modifiers: ["25"], units: 1, charge: 125, pointers: [1])])
        #expect(CodingRules.check(cptModifiers, facts: levelIIOnly).isEmpty)
        #expect(Self.rules(Self.draft(lines: [ServiceLine(code: "99213", units: 1, charge: 0, pointers: [1])])) == ["line.charge"])
    }
}
