import ClaimFlowCore
import Foundation
import Testing

/// The smallest change to a clean claim (`CodingRulesTests.draft()` with `CodingRulesTests.facts`,
/// which has no findings) that breaks one handoff rule.
struct BrokenRule: Sendable, CustomTestStringConvertible {
    let rule: String
    let severity: FindingSeverity
    let path: String
    /// What was changed, to tell apart two cases of one rule.
    let change: String
    var draft = CodingRulesTests.draft()
    var facts = CodingRulesTests.facts
    /// Other rules the same change cannot help breaking (a claim without diagnoses has no
    /// diagnosis for its line to point at).
    var alsoBroken: [String] = []

    var testDescription: String { "\(rule): \(change)" }

    static func draft(
        diagnoses: [String] = ["E119"], lines: [ServiceLine] = [line()], npi: String = "1234567893",
        renderingNPI: String? = "1234567893", payer: String? = "PAY1", subscriber: String? = "M1",
        placeOfService: String? = "11", total: Decimal? = nil
    ) -> ClaimDraft {
        CodingRulesTests.draft(
            diagnoses: diagnoses, lines: lines, npi: npi, renderingNPI: renderingNPI, payer: payer, subscriber: subscriber,
            placeOfService: placeOfService, total: total)
    }

    static func line(
        _ code: String = "99213", modifiers: [String] = [], units: Decimal = 1, charge: Decimal = 125, pointers: [Int] = [1]
    ) -> ServiceLine {
        ServiceLine(code: code, modifiers: modifiers, units: units, charge: charge, pointers: pointers)
    }

    /// The default claim for a patient of `sex` born on `born` (the date of service is 2026-05-04).
    static func patient(_ sex: Sex, born: String, diagnoses: [String], lines: [ServiceLine] = [line()]) -> ClaimDraft {
        var draft = draft(diagnoses: diagnoses, lines: lines)
        draft.patientSex = sex
        draft.patientBirthDate = CalendarDate(born)
        return draft
    }

    static func facts(_ change: (inout CodeFacts) -> Void) -> CodeFacts {
        var facts = CodingRulesTests.facts
        change(&facts)
        return facts
    }

    static func onDate(_ date: String, _ draft: ClaimDraft) -> ClaimDraft {
        var draft = draft
        draft.dateOfService = CalendarDate(date)!
        return draft
    }

    /// The dates the CMS HCPCS file gives G8951 and modifier JF (see hcpcs-2016-sample.txt).
    static let hcpcsDates = facts { facts in
        facts.knownHCPCS.insert("G8951")
        facts.knownModifiers.insert("JF")
        facts.hcpcsLifespans["G8951"] = CodeLifespan(added: CalendarDate("2013-01-01"), terminated: CalendarDate("2015-12-31"))
        facts.modifierLifespans["JF"] = CodeLifespan(added: CalendarDate("2015-04-01"), terminated: CalendarDate("2015-06-30"))
    }

    /// Thirteen billable ICD-10-CM codes: one more than a claim carries.
    static let thirteenDiagnoses = [
        "E119", "I10", "M1711", "E785", "F329", "K219", "J069", "R079", "A09", "Z23", "N390", "J449", "QA00101",
    ]

    /// One case for each place in CodingRules that emits a finding.
    static let all: [BrokenRule] = [
        // Diagnoses.
        BrokenRule(
            rule: "diagnosis.missing", severity: .error, path: "$.diagnoses", change: "no diagnosis",
            draft: draft(diagnoses: []), alsoBroken: ["line.pointer_missing"]),
        BrokenRule(
            rule: "diagnosis.too_many", severity: .error, path: "$.diagnoses", change: "13 diagnoses",
            draft: draft(diagnoses: thirteenDiagnoses),
            facts: facts { facts in for code in thirteenDiagnoses { facts.diagnoses[code] = .billable } }),
        BrokenRule(
            rule: "diagnosis.no_release", severity: .error, path: "$.diagnoses", change: "no ICD-10-CM release in force",
            facts: facts { $0.diagnosisReleaseInForce = false }),
        BrokenRule(
            rule: "diagnosis.format", severity: .error, path: "$.diagnoses[1]", change: "a dotted code, not normalised",
            draft: draft(diagnoses: ["I10", "E11.9"])),
        BrokenRule(
            rule: "diagnosis.duplicate", severity: .warning, path: "$.diagnoses[1]", change: "E119 twice",
            draft: draft(diagnoses: ["E119", "E119"])),
        BrokenRule(
            rule: "diagnosis.header", severity: .error, path: "$.diagnoses[0]", change: "the category E11",
            draft: draft(diagnoses: ["E11"])),
        BrokenRule(
            rule: "diagnosis.not_in_force", severity: .error, path: "$.diagnoses[0]", change: "QA00101 before its release",
            draft: draft(diagnoses: ["QA00101"]), facts: facts { $0.diagnoses["QA00101"] = .notInForce }),
        BrokenRule(
            rule: "diagnosis.unknown", severity: .error, path: "$.diagnoses[0]", change: "Z9999, in no release",
            draft: draft(diagnoses: ["Z9999"])),
        BrokenRule(
            rule: "diagnosis.sex", severity: .error, path: "$.diagnoses[0]", change: "N40.0 (prostate) on a female patient",
            draft: patient(.female, born: "1970-01-01", diagnoses: ["N400"])),
        BrokenRule(
            rule: "diagnosis.sex", severity: .error, path: "$.diagnoses[1]", change: "O80 (delivery) on a male patient",
            draft: patient(.male, born: "1990-01-01", diagnoses: ["E119", "O80"])),
        BrokenRule(
            rule: "diagnosis.age", severity: .error, path: "$.diagnoses[0]", change: "O80 (delivery) at age 80",
            draft: patient(.female, born: "1946-01-01", diagnoses: ["O80"])),
        BrokenRule(
            rule: "diagnosis.age", severity: .error, path: "$.diagnoses[0]", change: "P07.30 (preterm newborn) on an adult of 45",
            draft: patient(.male, born: "1981-02-03", diagnoses: ["P0730"])),
        BrokenRule(
            rule: "diagnosis.age", severity: .warning, path: "$.diagnoses[0]", change: "P07.30 (preterm newborn) at age 3",
            draft: patient(.female, born: "2023-01-01", diagnoses: ["P0730"])),
        BrokenRule(
            rule: "diagnosis.external_cause_first", severity: .error, path: "$.diagnoses[0]", change: "W19.XXXA (a fall) first",
            draft: draft(diagnoses: ["W19XXXA", "S0990XA"], lines: [line(pointers: [2])])),
        BrokenRule(
            rule: "diagnosis.excludes1", severity: .error, path: "$.diagnoses[1]", change: "E08.42 with E11.9 (Excludes1 both ways)",
            draft: draft(diagnoses: ["E0842", "E119"]),
            facts: facts { facts in
                facts.diagnoses["E0842"] = .billable
                facts.excludes1 = [
                    Excludes1Pair(code: "E0842", excluded: "E119", noted: "E08"),
                    Excludes1Pair(code: "E119", excluded: "E0842", noted: "E11"),
                ]
            }),
        BrokenRule(
            rule: "diagnosis.manifestation_first", severity: .error, path: "$.diagnoses[0]", change: "G63 (code first) as principal",
            draft: draft(diagnoses: ["G63", "E119"], lines: [line(pointers: [2])]),
            facts: facts { facts in
                facts.diagnoses["G63"] = .billable
                facts.manifestations = ["G63"]
            }),
        BrokenRule(
            rule: "diagnosis.first_listed_only", severity: .error, path: "$.diagnoses[1]", change: "Z00.00 (general exam) second",
            draft: draft(diagnoses: ["E119", "Z0000"])),

        // Service lines.
        BrokenRule(
            rule: "line.missing", severity: .error, path: "$.lines", change: "no line", draft: draft(lines: [])),
        BrokenRule(
            rule: "line.code_format", severity: .error, path: "$.lines[1].code", change: "a four-digit code",
            draft: draft(lines: [line(), line("9921")])),
        BrokenRule(
            rule: "line.code_unknown", severity: .error, path: "$.lines[0].code", change: "J9999, not in the HCPCS release",
            draft: draft(lines: [
                ServiceLine(
                    code: "J9999", units: 1, charge: 10, pointers: [1],
                    drug: DrugIdentification(ndc: "00641036721", unit: "ML", quantity: 1))
            ])),
        BrokenRule(
            rule: "line.code_unknown", severity: .error, path: "$.lines[0].code", change: "99214, not in the CPT table",
            draft: draft(lines: [line("99214")]),
            facts: facts { facts in
                facts.cptTableLoaded = true
                facts.knownCPT = ["99213"]
            }),
        BrokenRule(
            rule: "line.too_many_modifiers", severity: .error, path: "$.lines[0].modifiers", change: "five modifiers",
            draft: draft(lines: [line(modifiers: ["25", "59", "XS", "LT", "RT"])])),
        BrokenRule(
            rule: "line.modifier_format", severity: .error, path: "$.lines[0].modifiers[1]", change: "a one-character modifier",
            draft: draft(lines: [line(modifiers: ["25", "5"])])),
        BrokenRule(
            rule: "line.modifier_unknown", severity: .warning, path: "$.lines[0].modifiers[0]",
            change: "ZZ, not on the modifier list", draft: draft(lines: [line(modifiers: ["ZZ"])])),
        BrokenRule(
            rule: "line.units", severity: .error, path: "$.lines[0].units", change: "zero units",
            draft: draft(lines: [line(units: 0)])),
        BrokenRule(
            rule: "line.mue", severity: .error, path: "$.lines[0].units", change: "3 units of 36415, whose MUE is 2",
            draft: draft(lines: [line("36415", units: 3, charge: 10)])),
        BrokenRule(
            rule: "line.mue_day", severity: .error, path: "$.lines[1].units",
            change: "20610 on two lines, 2 and 1 units, over its date-of-service MUE of 2",
            draft: draft(lines: [line("20610", modifiers: ["RT"], units: 2, charge: 90), line("20610", modifiers: ["LT"], charge: 90)])),
        BrokenRule(
            rule: "line.charge", severity: .error, path: "$.lines[0].charge", change: "a zero charge",
            draft: draft(lines: [line(charge: 0)])),
        BrokenRule(
            rule: "line.external_cause_first", severity: .error, path: "$.lines[0].pointers[0]",
            change: "a line pointing first at W19.XXXA",
            draft: draft(diagnoses: ["S0990XA", "W19XXXA"], lines: [line(pointers: [2, 1])])),
        BrokenRule(
            rule: "line.manifestation_first", severity: .error, path: "$.lines[0].pointers[0]", change: "a line pointing first at G63",
            draft: draft(diagnoses: ["E119", "G63"], lines: [line(pointers: [2, 1])]),
            facts: facts { facts in
                facts.diagnoses["G63"] = .billable
                facts.manifestations = ["G63"]
            }),
        BrokenRule(
            rule: "line.drug_ndc", severity: .error, path: "$.lines[1].drug", change: "J1100 without the NDC of the drug given",
            draft: draft(lines: [line(), line("J1100", charge: 6)])),
        BrokenRule(
            rule: "line.anesthesia_minutes", severity: .error, path: "$.lines[0].anesthesia_minutes", change: "00840 without minutes",
            draft: draft(lines: [line("00840", charge: 900)])),
        BrokenRule(
            rule: "line.anesthesia_minutes", severity: .error, path: "$.lines[0].anesthesia_minutes", change: "minutes on 99213",
            draft: draft(lines: [ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1], anesthesiaMinutes: 20)])),
        BrokenRule(
            rule: "modifier.no_pc_tc_split", severity: .error, path: "$.lines[0].modifiers[0]",
            change: "26 on 99213, which has no professional/technical split (PC/TC 0)",
            draft: draft(lines: [line(modifiers: ["26"])]), facts: facts { $0.pcTCIndicators["99213"] = 0 }),
        BrokenRule(
            rule: "modifier.50_not_bilateral", severity: .error, path: "$.lines[0].modifiers[0]",
            change: "50 on 77067, bilateral already (indicator 2)",
            draft: draft(lines: [line("77067", modifiers: ["50"], charge: 100)]), facts: facts { $0.bilateralIndicators["77067"] = 2 }),
        BrokenRule(
            rule: "modifier.25_not_em", severity: .error, path: "$.lines[0].modifiers[0]", change: "25 on 36415, not an E/M code",
            draft: draft(lines: [line("36415", modifiers: ["25"], charge: 10)])),
        BrokenRule(
            rule: "modifier.50_with_side", severity: .error, path: "$.lines[0].modifiers[0]", change: "50 with RT on one line",
            draft: draft(lines: [line("20610", modifiers: ["50", "RT"], charge: 90)])),
        BrokenRule(
            rule: "line.pointer_count", severity: .error, path: "$.lines[0].pointers", change: "no pointer",
            draft: draft(lines: [line(pointers: [])])),
        BrokenRule(
            rule: "line.pointer_missing", severity: .error, path: "$.lines[0].pointers[1]", change: "a pointer past the diagnoses",
            draft: draft(diagnoses: ["E119", "I10"], lines: [line(pointers: [1, 3])])),

        // HCPCS dates, from real records of the CMS file: G8951 was added on 2013-01-01 and
        // discontinued after 2015-12-31; modifier JF was billable from 2015-04-01 through 2015-06-30.
        BrokenRule(
            rule: "line.hcpcs_terminated", severity: .error, path: "$.lines[1].code",
            change: "G8951 on 2016-01-04, after its termination date 2015-12-31",
            draft: onDate("2016-01-04", draft(lines: [line(), line("G8951", charge: 0)])), facts: hcpcsDates),
        BrokenRule(
            rule: "line.hcpcs_not_yet_effective", severity: .error, path: "$.lines[1].code",
            change: "G8951 on 2012-12-31, before it was added on 2013-01-01",
            draft: onDate("2012-12-31", draft(lines: [line(), line("G8951", charge: 0)])), facts: hcpcsDates),
        BrokenRule(
            rule: "modifier.terminated", severity: .error, path: "$.lines[0].modifiers[0]",
            change: "JF on 2015-07-01, after its termination date 2015-06-30",
            draft: onDate("2015-07-01", draft(lines: [line(modifiers: ["JF"])])), facts: hcpcsDates),
        BrokenRule(
            rule: "modifier.not_yet_effective", severity: .error, path: "$.lines[0].modifiers[0]",
            change: "JF on 2015-03-31, before it was added on 2015-04-01",
            draft: onDate("2015-03-31", draft(lines: [line(modifiers: ["JF"])])), facts: hcpcsDates),

        // NCCI pairs.
        BrokenRule(
            rule: "ncci.pair", severity: .error, path: "$.lines[1].code", change: "20610 with 76942 (indicator 0), modifiers or not",
            draft: draft(lines: [line("20610", modifiers: ["RT"], charge: 90), line("76942", modifiers: ["59"], charge: 40)])),
        BrokenRule(
            rule: "ncci.pair", severity: .error, path: "$.lines[1].code", change: "97530 with 97140 (indicator 1), no modifier",
            draft: draft(lines: [line("97530", charge: 60), line("97140", charge: 50)])),
        BrokenRule(
            rule: "ncci.pair", severity: .error, path: "$.lines[2].code",
            change: "a second line of 97140 without the modifier the first has",
            draft: draft(lines: [line("97530", charge: 60), line("97140", modifiers: ["59"], charge: 50), line("97140", charge: 50)])),

        // The claim.
        BrokenRule(
            rule: "claim.billing_npi", severity: .error, path: "$.billing_provider.npi", change: "billing NPI 1234567890",
            draft: draft(npi: "1234567890")),
        BrokenRule(
            rule: "claim.rendering_npi", severity: .error, path: "$.rendering_provider.npi", change: "rendering NPI 1234567890",
            draft: draft(renderingNPI: "1234567890")),
        BrokenRule(
            rule: "claim.payer", severity: .error, path: "$.payer", change: "no payer", draft: draft(payer: nil)),
        BrokenRule(
            rule: "claim.subscriber", severity: .error, path: "$.subscriber", change: "an empty member id",
            draft: draft(subscriber: "")),
        BrokenRule(
            rule: "claim.place_of_service", severity: .error, path: "$.place_of_service", change: "place of service 1",
            draft: draft(placeOfService: "1")),
        BrokenRule(
            rule: "claim.total", severity: .error, path: "$.total_charge", change: "a total of 130 for 125 of lines",
            draft: draft(total: 130)),
        BrokenRule(
            rule: "claim.service_facility", severity: .error, path: "$.service_facility",
            change: "place of service 22 (outpatient hospital) without a service facility",
            draft: {
                var claim = draft(placeOfService: "22")
                claim.hasServiceFacility = false
                return claim
            }()),
        BrokenRule(
            rule: "claim.individual_billing_rendering", severity: .error, path: "$.rendering_provider.npi",
            change: "a person billing under their own NPI, with another rendering provider",
            draft: {
                var claim = draft(renderingNPI: NPI.withCheckDigit(firstNine: "987654321")!.digits)
                claim.billingProviderIsIndividual = true
                return claim
            }()),
        BrokenRule(
            rule: "claim.no_charged_service", severity: .error, path: "$.lines", change: "only a $0 quality code, 3074F",
            draft: draft(lines: [line("3074F", charge: 0)])),
    ]
}

@Suite("Handoff rules: every rule id")
struct CodingRuleTableTests {
    @Test("the smallest claim breaking a rule gets that rule's finding, severity and path", arguments: BrokenRule.all)
    func breaks(_ broken: BrokenRule) throws {
        #expect(CodingRules.check(CodingRulesTests.draft(), facts: CodingRulesTests.facts).isEmpty)
        let findings = CodingRules.check(broken.draft, facts: broken.facts)
        #expect(findings.map(\.rule).sorted() == ([broken.rule] + broken.alsoBroken).sorted())
        let finding = try #require(findings.first { $0.rule == broken.rule })
        #expect(finding.severity == broken.severity)
        #expect(finding.path == broken.path)
        #expect(CodingRules.blocks([finding]) == (broken.severity == .error))
    }

    @Test("a HCPCS code or modifier is billable from its added date through its termination date, both days included")
    func hcpcsDateBoundaries() {
        let facts = BrokenRule.hcpcsDates
        let quality = [BrokenRule.line(), BrokenRule.line("G8951", charge: 0)]
        for date in ["2013-01-01", "2015-12-31"] {
            #expect(CodingRules.check(BrokenRule.onDate(date, BrokenRule.draft(lines: quality)), facts: facts).isEmpty, "G8951 on \(date)")
        }
        for date in ["2015-04-01", "2015-06-30"] {
            let draft = BrokenRule.onDate(date, BrokenRule.draft(lines: [BrokenRule.line(modifiers: ["JF"])]))
            #expect(CodingRules.check(draft, facts: facts).isEmpty, "JF on \(date)")
        }
        // A code with no dates in its record (an older import) is judged by the release alone.
        var undated = facts
        undated.hcpcsLifespans = [:]
        #expect(CodingRules.check(BrokenRule.onDate("2016-01-04", BrokenRule.draft(lines: quality)), facts: undated).isEmpty)
    }

    @Test("the table has a case for every rule id CodingRules.swift emits, with its severity")
    func everyRuleHasACase() throws {
        let emitted = try Self.emittedRules()
        let covered = Set(BrokenRule.all.map { "\($0.severity.rawValue) \($0.rule)" })
        #expect(emitted.subtracting(covered) == [], "rules without a case in BrokenRule.all")
        #expect(covered.subtracting(emitted) == [], "cases for rules CodingRules.swift does not emit")
    }

    /// `severity rule` for every `error("rule", ...)` and `warning("rule", ...)` call in
    /// Sources/ClaimFlowCore/CodingRules.swift, read from the package's source.
    static func emittedRules() throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let source = try String(contentsOf: root.appending(path: "Sources/ClaimFlowCore/CodingRules.swift"), encoding: .utf8)
        return Set(source.matches(of: #/\b(error|warning)\(\s*"([^"]*)"/#).map { "\($0.output.1) \($0.output.2)" })
    }
}
