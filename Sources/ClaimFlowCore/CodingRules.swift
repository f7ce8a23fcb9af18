public import Foundation

/// How much a finding matters: errors block the handoff to billing, warnings do not.
public enum FindingSeverity: String, Sendable, Hashable, Codable {
    case error
    case warning
}

/// One problem the handoff rules found, explained so a coder can fix it.
public struct CodingFinding: Sendable, Hashable, Codable {
    /// A stable identifier of the rule, such as `diagnosis.header` or `ncci.pair`.
    public let rule: String
    public let severity: FindingSeverity
    /// JSON path of what the finding is about, in the codes body: `$.diagnoses[0]`,
    /// `$.lines[1].units`, or a claim-level path such as `$.billing_provider.npi`.
    public let path: String
    public let message: String

    public init(rule: String, severity: FindingSeverity, path: String, message: String) {
        self.rule = rule
        self.severity = severity
        self.path = path
        self.message = message
    }
}

/// An NCCI procedure-to-procedure edit in force on the date of service.
public struct NCCIEdit: Sendable, Hashable {
    public let column1: String
    public let column2: String
    /// 0: never billable together; 1: allowed with an appropriate modifier; 9: not applied.
    public let modifierIndicator: Int

    public init(column1: String, column2: String, modifierIndicator: Int) {
        self.column1 = column1
        self.column2 = column2
        self.modifierIndicator = modifierIndicator
    }
}

/// Two diagnoses of a claim that an Excludes1 note of the tabular keeps apart.
public struct Excludes1Pair: Sendable, Hashable {
    /// The diagnosis under the note's code or category.
    public let code: String
    /// The diagnosis the note excludes.
    public let excluded: String
    /// The code or category (no dot) whose note it is.
    public let noted: String

    public init(code: String, excluded: String, noted: String) {
        self.code = code
        self.excluded = excluded
        self.noted = noted
    }
}

/// What the rules need to know from the code sets about the codes of one claim, judged
/// against the releases in force on its date of service. The store loads it; the rules stay pure.
public struct CodeFacts: Sendable, Hashable {
    /// What the ICD-10-CM release in force says of a diagnosis code.
    public enum Diagnosis: Sendable, Hashable {
        case billable
        /// A category header; `suggestion` is a billable code under it.
        case header(suggestion: String?)
        /// In a loaded release, but not the one in force on the date of service.
        case notInForce
        case unknown
    }

    /// Whether an ICD-10-CM release covers the date of service at all.
    public var diagnosisReleaseInForce: Bool
    public var diagnoses: [String: Diagnosis]
    /// Whether a HCPCS Level II release covers the date; then every Level II code must be in it.
    public var hcpcsReleaseInForce: Bool
    public var knownHCPCS: Set<String>
    /// The added and termination dates of the claim's HCPCS codes in the release in force,
    /// for the codes whose record has either date.
    public var hcpcsLifespans: [String: CodeLifespan] = [:]
    /// Whether a licensee loaded its own CPT table; then every CPT code must be in it.
    public var cptTableLoaded: Bool
    public var knownCPT: Set<String>
    /// Whether a modifier list is loaded; then every modifier must be on it.
    public var modifierListLoaded: Bool
    public var knownModifiers: Set<String>
    /// The added and termination dates of the claim's modifiers, as for `hcpcsLifespans`.
    public var modifierLifespans: [String: CodeLifespan] = [:]
    /// Most units of a code one provider may bill for one patient on one day.
    public var unitLimits: [String: Int]
    /// The MUE adjudication indicator of a code in `unitLimits`: 1 judges each line on its
    /// own; 2 and 3 (date of service edits, by policy or clinically) judge the units of every
    /// line of the code added up. A code not listed is judged per line.
    public var unitLimitIndicators: [String: Int]
    /// NCCI PTP edits in force whose two codes both appear on the claim.
    public var ncciEdits: [NCCIEdit]
    /// Excludes1 notes of the tabular in force that pair two of the claim's diagnoses: `code`
    /// (under the note's `noted` code or category) never goes with `excluded`.
    public var excludes1: [Excludes1Pair]
    /// The claim's diagnoses that the tabular in force marks as manifestations.
    public var manifestations: Set<String>
    /// The fee schedule's PC/TC indicator of the claim's codes (1: a professional/technical
    /// split, so 26 and TC apply; 6: 26 applies, TC does not; others: neither).
    public var pcTCIndicators: [String: Int] = [:]
    /// The fee schedule's bilateral surgery indicator of the claim's codes (2: already
    /// bilateral; 9: the concept does not apply; in both, modifier 50 is wrong).
    public var bilateralIndicators: [String: Int] = [:]

    public init(
        diagnosisReleaseInForce: Bool = false, diagnoses: [String: Diagnosis] = [:], hcpcsReleaseInForce: Bool = false,
        knownHCPCS: Set<String> = [], cptTableLoaded: Bool = false, knownCPT: Set<String> = [],
        modifierListLoaded: Bool = false, knownModifiers: Set<String> = [], unitLimits: [String: Int] = [:],
        unitLimitIndicators: [String: Int] = [:], ncciEdits: [NCCIEdit] = [],
        excludes1: [Excludes1Pair] = [], manifestations: Set<String> = []
    ) {
        self.diagnosisReleaseInForce = diagnosisReleaseInForce
        self.diagnoses = diagnoses
        self.hcpcsReleaseInForce = hcpcsReleaseInForce
        self.knownHCPCS = knownHCPCS
        self.cptTableLoaded = cptTableLoaded
        self.knownCPT = knownCPT
        self.modifierListLoaded = modifierListLoaded
        self.knownModifiers = knownModifiers
        self.unitLimits = unitLimits
        self.unitLimitIndicators = unitLimitIndicators
        self.ncciEdits = ncciEdits
        self.excludes1 = excludes1
        self.manifestations = manifestations
    }

}

/// A coded encounter as the handoff rules see it: the codes plus what the claim needs.
public struct ClaimDraft: Sendable, Hashable {
    public var dateOfService: CalendarDate
    public var codes: CodeAssignment
    public var billingProviderNPI: String
    public var renderingProviderNPI: String?
    public var payerCode: String?
    public var subscriberMemberID: String?
    public var placeOfService: String?
    /// The claim's stated total; nil while no claim exists yet (it is then the line sum).
    public var claimTotal: Decimal?
    /// The patient's sex and birth date, for the sex and age edits; nil where not known.
    public var patientSex: Sex?
    public var patientBirthDate: CalendarDate?
    /// Whether intake named a service facility (837P loop 2310C); nil where not known.
    public var hasServiceFacility: Bool?
    /// Whether the billing provider is a person (2010AA NM102 = 1); nil where not known.
    public var billingProviderIsIndividual: Bool?

    public init(
        dateOfService: CalendarDate, codes: CodeAssignment, billingProviderNPI: String, renderingProviderNPI: String?,
        payerCode: String?, subscriberMemberID: String?, placeOfService: String?, claimTotal: Decimal? = nil,
        patientSex: Sex? = nil, patientBirthDate: CalendarDate? = nil, hasServiceFacility: Bool? = nil,
        billingProviderIsIndividual: Bool? = nil
    ) {
        self.dateOfService = dateOfService
        self.codes = codes
        self.billingProviderNPI = billingProviderNPI
        self.renderingProviderNPI = renderingProviderNPI
        self.payerCode = payerCode
        self.subscriberMemberID = subscriberMemberID
        self.placeOfService = placeOfService
        self.claimTotal = claimTotal
        self.patientSex = patientSex
        self.patientBirthDate = patientBirthDate
        self.hasServiceFacility = hasServiceFacility
        self.billingProviderIsIndividual = billingProviderIsIndividual
    }
}

/// The handoff rules: one engine, used by the draft endpoint (so a coder sees findings as they
/// work) and by the handoff worker (which sends an encounter back with the same findings).
public enum CodingRules {
    /// Modifiers that may bypass an NCCI edit whose modifier indicator is 1: the NCCI policy
    /// manual's anatomic, global surgery (24, 25, 57, 58, 78, 79) and other (27, 59, 91, X{EPSU}) ones.
    public static let ncciBypassModifiers: Set<String> = [
        "59", "XE", "XS", "XP", "XU", "25", "57", "58", "78", "79", "91", "24", "27", "E1", "E2", "E3", "E4", "F1", "F2", "F3", "F4",
        "F5", "F6", "F7", "F8", "F9", "FA", "LC", "LD", "LM", "LT", "RC", "RI", "RT", "T1", "T2", "T3", "T4", "T5",
        "T6", "T7", "T8", "T9", "TA",
    ]

    /// Every finding for the draft, errors and warnings, in a stable order.
    public static func check(_ draft: ClaimDraft, facts: CodeFacts) -> [CodingFinding] {
        var findings: [CodingFinding] = []
        func error(_ rule: String, _ path: String, _ message: String) {
            findings.append(CodingFinding(rule: rule, severity: .error, path: path, message: message))
        }
        func warning(_ rule: String, _ path: String, _ message: String) {
            findings.append(CodingFinding(rule: rule, severity: .warning, path: path, message: message))
        }
        let codes = draft.codes
        let dos = draft.dateOfService.description

        // Diagnoses.
        if codes.diagnoses.isEmpty {
            error("diagnosis.missing", "$.diagnoses", "add at least one diagnosis")
        }
        if codes.diagnoses.count > 12 {
            error("diagnosis.too_many", "$.diagnoses", "a claim carries at most 12 diagnoses; this has \(codes.diagnoses.count)")
        }
        if !codes.diagnoses.isEmpty && !facts.diagnosisReleaseInForce {
            error("diagnosis.no_release", "$.diagnoses", "no ICD-10-CM release loaded covers the date of service \(dos)")
        }
        var seen: Set<String> = []
        for (index, code) in codes.diagnoses.enumerated() {
            let path = "$.diagnoses[\(index)]"
            guard CodeFormat.normalizedDiagnosis(code) == code else {
                error("diagnosis.format", path, "\(code) is not an ICD-10-CM code")
                continue
            }
            if !seen.insert(code).inserted {
                warning("diagnosis.duplicate", path, "\(code) is listed more than once")
            }
            if index == 0 && DiagnosisEdits.isExternalCause(code) {
                error(
                    "diagnosis.external_cause_first", path,
                    "\(code) is an external cause code (V00-Y99), never first-listed: list the injury or condition first")
            }
            if index > 0 && DiagnosisEdits.isFirstListedOnly(code) {
                error(
                    "diagnosis.first_listed_only", path,
                    "\(code) may only be the first-listed diagnosis (ICD-10-CM guidelines I.C.21.c.16): move it first or remove it")
            }
            if let range = DiagnosisEdits.applicability(of: code) {
                if let sex = range.sex, let patient = draft.patientSex, patient != .unknown, patient != sex {
                    let whose = sex == .female ? "female" : "male"
                    error(
                        "diagnosis.sex", path,
                        "\(code) is one of the \(range.title), for \(whose) patients; the patient is recorded as \(patient == .female ? "female" : "male"): check the code or the patient's sex"
                    )
                }
                if let ages = range.ages, let born = draft.patientBirthDate {
                    let age = DiagnosisEdits.age(born: born, on: draft.dateOfService)
                    let hard = !range.ageIsAdvisory || age >= 18
                    if !ages.contains(age) {
                        let span = ages.count == 1 ? "age \(ages.lowerBound)" : "ages \(ages.lowerBound) to \(ages.upperBound)"
                        let message =
                            "\(code) is one of the \(range.title), for \(span); the patient is \(age) on \(dos): check the code or the birth date"
                        if hard {
                            error("diagnosis.age", path, message)
                        } else {
                            warning("diagnosis.age", path, message + " (a perinatal condition may be coded while it persists)")
                        }
                    }
                }
            }
            guard facts.diagnosisReleaseInForce else { continue }
            switch facts.diagnoses[code] ?? .unknown {
            case .billable:
                break
            case .header(let suggestion):
                let hint = suggestion.map { " such as \($0)" } ?? ""
                error("diagnosis.header", path, "\(code) is a category header; pick a billable code\(hint)")
            case .notInForce:
                error("diagnosis.not_in_force", path, "\(code) is not valid on the date of service \(dos)")
            case .unknown:
                error("diagnosis.unknown", path, "\(code) is not an ICD-10-CM code in the release for \(dos)")
            }
        }

        // The tabular's notes: Excludes1 pairs (once a pair, at the later of the two codes) and
        // manifestation codes, which follow their cause and never stand first.
        var excluded: Set<[Int]> = []
        for note in facts.excludes1 {
            guard let first = codes.diagnoses.firstIndex(of: note.code), let second = codes.diagnoses.firstIndex(of: note.excluded),
                first != second, excluded.insert([min(first, second), max(first, second)]).inserted
            else { continue }
            let later = max(first, second)
            error(
                "diagnosis.excludes1", "$.diagnoses[\(later)]",
                "\(note.code) and \(note.excluded) are never coded together (Excludes1 at \(note.noted)): keep the one the documentation supports"
            )
        }
        if let principal = codes.diagnoses.first, facts.manifestations.contains(principal) {
            error(
                "diagnosis.manifestation_first", "$.diagnoses[0]",
                "\(principal) is a manifestation code (\"in diseases classified elsewhere\"): code the underlying disease first")
        }

        // Service lines.
        if codes.lines.isEmpty {
            error("line.missing", "$.lines", "add at least one service line")
        }
        for (index, line) in codes.lines.enumerated() {
            let path = "$.lines[\(index)]"
            if !CodeFormat.isProcedure(line.code) {
                error("line.code_format", "\(path).code", "\(line.code) is not a CPT or HCPCS Level II code")
            } else if isHCPCSLevelII(line.code) {
                if facts.hcpcsReleaseInForce && !facts.knownHCPCS.contains(line.code) {
                    error("line.code_unknown", "\(path).code", "\(line.code) is not a HCPCS Level II code valid on \(dos)")
                } else {
                    switch facts.hcpcsLifespans[line.code]?.standing(on: draft.dateOfService) {
                    case .terminated(let last):
                        error(
                            "line.hcpcs_terminated", "\(path).code",
                            "\(line.code) was discontinued: its last billable day was \(last), before the date of service \(dos); code the service with the HCPCS code that replaced it"
                        )
                    case .notYetAdded(let first):
                        error(
                            "line.hcpcs_not_yet_effective", "\(path).code",
                            "\(line.code) takes effect on \(first), after the date of service \(dos); code the service with a code in effect on that day"
                        )
                    case .inForce, nil: break
                    }
                }
            } else if facts.cptTableLoaded && !facts.knownCPT.contains(line.code) {
                error("line.code_unknown", "\(path).code", "\(line.code) is not in the loaded CPT table")
            }
            if line.modifiers.count > 4 {
                error("line.too_many_modifiers", "\(path).modifiers", "a line carries at most 4 modifiers")
            }
            for (position, modifier) in line.modifiers.enumerated() {
                if !CodeFormat.isModifier(modifier) {
                    error("line.modifier_format", "\(path).modifiers[\(position)]", "\(modifier) is not a two-character modifier")
                } else if facts.modifierListLoaded && !facts.knownModifiers.contains(modifier) && !isCPTModifier(modifier) {
                    warning("line.modifier_unknown", "\(path).modifiers[\(position)]", "\(modifier) is not on the loaded modifier list")
                } else {
                    switch facts.modifierLifespans[modifier]?.standing(on: draft.dateOfService) {
                    case .terminated(let last):
                        error(
                            "modifier.terminated", "\(path).modifiers[\(position)]",
                            "modifier \(modifier) was discontinued: its last billable day was \(last), before the date of service \(dos); remove it or use the modifier that replaced it"
                        )
                    case .notYetAdded(let first):
                        error(
                            "modifier.not_yet_effective", "\(path).modifiers[\(position)]",
                            "modifier \(modifier) takes effect on \(first), after the date of service \(dos); remove it"
                        )
                    case .inForce, nil: break
                    }
                }
                if modifier == "25" && !isEvaluationAndManagement(line.code) {
                    error(
                        "modifier.25_not_em", "\(path).modifiers[\(position)]",
                        "modifier 25 marks a separately identifiable E/M service; \(line.code) is not an E/M code (99202-99499): remove it, or use 59 or an X modifier for a distinct procedure"
                    )
                }
                if modifier == "26" || modifier == "TC", let indicator = facts.pcTCIndicators[line.code],
                    indicator != 1 && !(modifier == "26" && indicator == 6)
                {
                    error(
                        "modifier.no_pc_tc_split", "\(path).modifiers[\(position)]",
                        "\(line.code) has no professional/technical split (PC/TC indicator \(indicator)): bill it without \(modifier)")
                }
                if modifier == "50", let indicator = facts.bilateralIndicators[line.code], indicator == 2 || indicator == 9 {
                    let why = indicator == 2 ? "is bilateral already" : "is not a bilateral procedure"
                    error(
                        "modifier.50_not_bilateral", "\(path).modifiers[\(position)]",
                        "\(line.code) \(why) (bilateral surgery indicator \(indicator)): bill it without 50")
                }
                if modifier == "50" && (line.modifiers.contains("LT") || line.modifiers.contains("RT")) {
                    error(
                        "modifier.50_with_side", "\(path).modifiers[\(position)]",
                        "modifier 50 (bilateral) with LT or RT on one line: bill 50 alone on one line, or LT and RT on two lines, as the payer asks"
                    )
                }
            }
            if line.units <= 0 {
                error("line.units", "\(path).units", "units must be more than zero")
            } else if let limit = facts.unitLimits[line.code], (facts.unitLimitIndicators[line.code] ?? 1) == 1,
                line.units > Decimal(limit)
            {
                error("line.mue", "\(path).units", "\(line.code) allows at most \(limit) unit(s) a line (MUE); this line has \(line.units)")
            }
            if isDrug(line.code) && line.drug == nil {
                error(
                    "line.drug_ndc", "\(path).drug",
                    "\(line.code) is a drug code: payers require the NDC of the drug given, its unit and quantity (loop 2410)")
            }
            if isAnesthesia(line.code) && line.anesthesiaMinutes == nil {
                error(
                    "line.anesthesia_minutes", "\(path).anesthesia_minutes", "\(line.code) is an anesthesia code: bill its time in minutes")
            } else if !isAnesthesia(line.code) && line.anesthesiaMinutes != nil {
                error(
                    "line.anesthesia_minutes", "\(path).anesthesia_minutes",
                    "\(line.code) is not an anesthesia code (00100-01999): bill it in units, without minutes")
            }
            if line.charge < 0 || (line.charge == 0 && !isQualityDataCode(line.code)) {
                error(
                    "line.charge", "\(path).charge",
                    "the charge must be more than zero (only quality-data codes, CPT Category II and G8/G9/M1 codes, may be $0.00)")
            }
            // The diagnosis the line points at first is its primary one: never a manifestation
            // or an external cause.
            if let first = line.pointers.first, first >= 1, first <= codes.diagnoses.count {
                let primary = codes.diagnoses[first - 1]
                if facts.manifestations.contains(primary) {
                    error(
                        "line.manifestation_first", "\(path).pointers[0]",
                        "the line's first pointer is at \(primary), a manifestation code: point first at the underlying disease")
                }
                if DiagnosisEdits.isExternalCause(primary) {
                    error(
                        "line.external_cause_first", "\(path).pointers[0]",
                        "the line's first pointer is at \(primary), an external cause code: point first at the injury or condition treated"
                    )
                }
            }
            if line.pointers.isEmpty || line.pointers.count > 4 {
                error("line.pointer_count", "\(path).pointers", "point at 1 to 4 diagnoses")
            }
            for (position, pointer) in line.pointers.enumerated() where pointer < 1 || pointer > codes.diagnoses.count {
                error(
                    "line.pointer_missing", "\(path).pointers[\(position)]",
                    "pointer \(pointer) points at no diagnosis (the claim has \(codes.diagnoses.count))"
                )
            }
        }

        // MUEs judged by date of service (adjudication indicators 2 and 3): every line of the
        // code counts, so splitting units over lines does not get past them.
        for (code, limit) in facts.unitLimits.sorted(by: { $0.key < $1.key }) where (facts.unitLimitIndicators[code] ?? 1) != 1 {
            let positions = codes.lines.indices.filter { codes.lines[$0].code == code }
            let total = positions.reduce(Decimal(0)) { $0 + codes.lines[$1].units }
            guard let last = positions.last, total > Decimal(limit) else { continue }
            error(
                "line.mue_day", "$.lines[\(last)].units",
                "\(code) allows at most \(limit) unit(s) a day (MUE, date of service); its \(positions.count) line(s) add up to \(total)"
            )
        }

        // NCCI procedure-to-procedure pairs on the same date: every line of the column 2 code
        // against every line of the column 1 code.
        for edit in facts.ncciEdits where edit.modifierIndicator != 9 {
            let firsts = codes.lines.indices.filter { codes.lines[$0].code == edit.column1 }
            for second in codes.lines.indices where codes.lines[second].code == edit.column2 {
                let bundled = firsts.contains { first in
                    first != second
                        && (edit.modifierIndicator == 0
                            || Set(codes.lines[first].modifiers + codes.lines[second].modifiers).isDisjoint(with: ncciBypassModifiers))
                }
                guard bundled else { continue }
                let path = "$.lines[\(second)].code"
                if edit.modifierIndicator == 0 {
                    error(
                        "ncci.pair", path,
                        "\(edit.column2) is bundled into \(edit.column1) (NCCI edit, no modifier allowed); remove one of them"
                    )
                } else {
                    error(
                        "ncci.pair", path,
                        "\(edit.column2) is bundled into \(edit.column1) (NCCI edit); bill it only with a modifier such as 59, XS, 58, 78 or 79 when the service was distinct"
                    )
                }
            }
        }
        if !codes.lines.isEmpty && codes.lines.allSatisfy({ $0.charge == 0 && isQualityDataCode($0.code) }) {
            error(
                "claim.no_charged_service", "$.lines",
                "every line is a $0 quality-data code: report them on the claim of the service they describe")
        }

        // Claim-level requirements.
        if NPI(draft.billingProviderNPI) == nil {
            error(
                "claim.billing_npi", "$.billing_provider.npi", "the billing provider NPI \(draft.billingProviderNPI) fails its check digit")
        }
        if draft.billingProviderIsIndividual == true, let rendering = draft.renderingProviderNPI, rendering != draft.billingProviderNPI {
            error(
                "claim.individual_billing_rendering", "$.rendering_provider.npi",
                "the billing provider is a person (NPI \(draft.billingProviderNPI)) and bills only what they render; a service by \(rendering) is billed under a group"
            )
        }
        if let rendering = draft.renderingProviderNPI, NPI(rendering) == nil {
            error("claim.rendering_npi", "$.rendering_provider.npi", "the rendering provider NPI \(rendering) fails its check digit")
        }
        if (draft.payerCode ?? "").isEmpty {
            error("claim.payer", "$.payer", "the encounter has no payer")
        }
        if (draft.subscriberMemberID ?? "").isEmpty {
            error("claim.subscriber", "$.subscriber", "the encounter has no subscriber member id")
        }
        let placeOfService = draft.placeOfService ?? ""
        if placeOfService.count != 2 || !placeOfService.allSatisfy(\.isNumber) {
            error("claim.place_of_service", "$.place_of_service", "the place of service must be two digits, such as 11")
        }
        if Self.placesNeedingFacility.contains(placeOfService), draft.hasServiceFacility == false {
            error(
                "claim.service_facility", "$.service_facility",
                "place of service \(placeOfService) is a facility (inpatient, outpatient or emergency hospital, skilled nursing): payers require its name and address (loop 2310C); ask intake to send service_facility"
            )
        }
        if let total = draft.claimTotal, total != codes.totalCharge {
            error("claim.total", "$.total_charge", "the claim total \(total) does not equal the sum of its lines \(codes.totalCharge)")
        }
        return findings
    }

    /// Whether any finding blocks the handoff.
    public static func blocks(_ findings: [CodingFinding]) -> Bool {
        findings.contains { $0.severity == .error }
    }

    /// HCPCS Level II codes start with a letter; CPT codes are digits (with F/T/U last).
    static func isHCPCSLevelII(_ code: String) -> Bool {
        code.first.map { $0.isLetter } ?? false
    }

    /// Places of service that are facilities payers want named (2310C): inpatient, outpatient
    /// and emergency room hospital, and skilled nursing facility.
    public static let placesNeedingFacility: Set<String> = ["21", "22", "23", "31"]

    /// A drug HCPCS code (J0000-J9999), whose claims payers want with the drug's NDC.
    static func isDrug(_ code: String) -> Bool {
        code.count == 5 && code.hasPrefix("J") && code.dropFirst().allSatisfy(\.isNumber)
    }

    /// An anesthesia CPT code (00100-01999), billed in minutes.
    static func isAnesthesia(_ code: String) -> Bool {
        guard code.count == 5, code.allSatisfy(\.isNumber), let value = Int(code) else { return false }
        return (100...1999).contains(value)
    }

    /// A CPT (Level I) modifier: two digits (25, 59, 26, 50...). The AMA's, so the HCPCS file's
    /// modifier records (Level II: a letter, or a letter and a digit) never list them, and
    /// judging them against that list would warn on nearly every claim.
    static func isCPTModifier(_ modifier: String) -> Bool {
        modifier.utf8.count == 2 && modifier.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    /// An E/M code: CPT 99202-99499, the codes modifier 25 belongs on.
    static func isEvaluationAndManagement(_ code: String) -> Bool {
        guard code.count == 5, code.allSatisfy(\.isNumber), let value = Int(code) else { return false }
        return (99202...99499).contains(value)
    }

    /// A quality-data code, reported at $0.00 on the claim of a service: CPT Category II
    /// (four digits and F) and the HCPCS G8xxx, G9xxx and M1xxx quality codes.
    static func isQualityDataCode(_ code: String) -> Bool {
        if code.count == 5, code.last == "F", code.prefix(4).allSatisfy(\.isNumber) { return true }
        return code.count == 5 && (code.hasPrefix("G8") || code.hasPrefix("G9") || code.hasPrefix("M1"))
    }
}
