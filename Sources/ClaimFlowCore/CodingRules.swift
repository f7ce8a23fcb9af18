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
    /// Whether a licensee loaded its own CPT table; then every CPT code must be in it.
    public var cptTableLoaded: Bool
    public var knownCPT: Set<String>
    /// Whether a modifier list is loaded; then every modifier must be on it.
    public var modifierListLoaded: Bool
    public var knownModifiers: Set<String>
    /// Most units of a code one provider may bill for one patient on one day.
    public var unitLimits: [String: Int]
    /// NCCI PTP edits in force whose two codes both appear on the claim.
    public var ncciEdits: [NCCIEdit]

    public init(
        diagnosisReleaseInForce: Bool = false, diagnoses: [String: Diagnosis] = [:], hcpcsReleaseInForce: Bool = false,
        knownHCPCS: Set<String> = [], cptTableLoaded: Bool = false, knownCPT: Set<String> = [],
        modifierListLoaded: Bool = false, knownModifiers: Set<String> = [], unitLimits: [String: Int] = [:],
        ncciEdits: [NCCIEdit] = []
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
        self.ncciEdits = ncciEdits
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

    public init(
        dateOfService: CalendarDate, codes: CodeAssignment, billingProviderNPI: String, renderingProviderNPI: String?,
        payerCode: String?, subscriberMemberID: String?, placeOfService: String?, claimTotal: Decimal? = nil
    ) {
        self.dateOfService = dateOfService
        self.codes = codes
        self.billingProviderNPI = billingProviderNPI
        self.renderingProviderNPI = renderingProviderNPI
        self.payerCode = payerCode
        self.subscriberMemberID = subscriberMemberID
        self.placeOfService = placeOfService
        self.claimTotal = claimTotal
    }
}

/// The handoff rules: one engine, used by the draft endpoint (so a coder sees findings as they
/// work) and by the handoff worker (which sends an encounter back with the same findings).
public enum CodingRules {
    /// Modifiers that may bypass an NCCI edit whose modifier indicator is 1.
    public static let ncciBypassModifiers: Set<String> = [
        "59", "XE", "XS", "XP", "XU", "25", "57", "91", "24", "27", "E1", "E2", "E3", "E4", "F1", "F2", "F3", "F4",
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
                } else if facts.modifierListLoaded && !facts.knownModifiers.contains(modifier) {
                    warning("line.modifier_unknown", "\(path).modifiers[\(position)]", "\(modifier) is not on the loaded modifier list")
                }
            }
            if line.units <= 0 {
                error("line.units", "\(path).units", "units must be more than zero")
            } else if let limit = facts.unitLimits[line.code], line.units > Decimal(limit) {
                error("line.mue", "\(path).units", "\(line.code) allows at most \(limit) unit(s) a day (MUE); this line has \(line.units)")
            }
            if line.charge <= 0 {
                error("line.charge", "\(path).charge", "the charge must be more than zero")
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

        // NCCI procedure-to-procedure pairs on the same date.
        for edit in facts.ncciEdits where edit.modifierIndicator != 9 {
            guard let first = codes.lines.firstIndex(where: { $0.code == edit.column1 }),
                let second = codes.lines.firstIndex(where: { $0.code == edit.column2 })
            else { continue }
            let modifiers = Set(codes.lines[first].modifiers + codes.lines[second].modifiers)
            let path = "$.lines[\(second)].code"
            if edit.modifierIndicator == 0 {
                error(
                    "ncci.pair", path,
                    "\(edit.column2) is bundled into \(edit.column1) (NCCI edit, no modifier allowed); remove one of them"
                )
            } else if modifiers.isDisjoint(with: ncciBypassModifiers) {
                error(
                    "ncci.pair", path,
                    "\(edit.column2) is bundled into \(edit.column1) (NCCI edit); bill it only with a modifier such as 59, XS or 25 when the service was distinct"
                )
            }
        }

        // Claim-level requirements.
        if NPI(draft.billingProviderNPI) == nil {
            error(
                "claim.billing_npi", "$.billing_provider.npi", "the billing provider NPI \(draft.billingProviderNPI) fails its check digit")
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
}
