/// Who works a denied claim or line next.
public enum DenialQueue: String, Sendable, Hashable, Codable, CaseIterable {
    /// The codes are wrong: a coder fixes them and the claim goes out again.
    case coding
    /// Billing follows it up with the payer: resend, appeal, verify coverage or write off.
    case billing
    /// The patient owes it: it goes on the patient's statement.
    case patient
}

/// What is done with a denial once it is in its queue.
public enum DenialAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// Resend as a replacement of the denied claim (frequency 7, REF*F8 the payer's claim number).
    case correctedClaim = "corrected_claim"
    /// Resend as a new original (frequency 1): the payer kept nothing to replace.
    case newOriginal = "new_original"
    /// Cancel the claim at the payer (frequency 8).
    case void
    /// Dispute the decision with the payer; nothing is resent as a claim.
    case appeal
    /// Adjust the balance off: the practice cannot collect it.
    case writeOff = "write_off"
    /// Move the balance to the patient's statement.
    case billPatient = "bill_patient"
    /// Verify the patient's coverage (and which payer is primary), then send a new original.
    case eligibilityReview = "eligibility_review"
    /// Nothing to send, for example CO-18: the payer already has this claim.
    case noResend = "no_resend"

    /// The claim frequency code (CLM05-3) of the claim this action resends, if it resends one.
    public var frequencyCode: String? {
        switch self {
        case .correctedClaim: "7"
        case .newOriginal, .eligibilityReview: "1"
        case .void: "8"
        case .appeal, .writeOff, .billPatient, .noResend: nil
        }
    }
}

/// One adjustment of an 835 (a CAS group code with one of its reason codes).
public struct DenialReason: Sendable, Hashable, Codable {
    /// CAS01: `CO`, `PR`, `OA`, `PI` or `CR`.
    public var groupCode: String
    /// The CARC, such as `16` or `97`.
    public var reasonCode: String

    public init(groupCode: String, reasonCode: String) {
        self.groupCode = groupCode
        self.reasonCode = reasonCode
    }

    /// The claim adjustment group codes an 835 uses: contractual obligation, other adjustment,
    /// payer initiated reduction, patient responsibility, and correction or reversal (older
    /// files only). The `denial_rules` table accepts exactly these.
    public static let groupCodes: [String] = ["CO", "CR", "OA", "PI", "PR"]
}

/// One row of the denial routing table: the adjustments it matches, and where they go.
///
/// Every field left nil matches anything, so a rule with only a group code is that group's
/// catch-all, and a rule naming a payer is that payer's exception to the general rules.
public struct DenialRule: Sendable, Hashable, Codable, Identifiable {
    public var id: Int
    /// The CAS group code; nil: any.
    public var groupCode: String?
    /// The CARC; nil: any.
    public var reasonCode: String?
    /// A RARC that must be among the remark codes (MOA or LQ); nil: any.
    public var remarkCode: String?
    /// The payer's id (835 payer REF*2U or N104); nil: any payer.
    public var payerID: String?
    /// Lower wins.
    public var precedence: Int
    public var queue: DenialQueue
    public var action: DenialAction
    public var description: String

    public init(
        id: Int, groupCode: String? = nil, reasonCode: String? = nil, remarkCode: String? = nil, payerID: String? = nil,
        precedence: Int, queue: DenialQueue, action: DenialAction, description: String = ""
    ) {
        self.id = id
        self.groupCode = groupCode
        self.reasonCode = reasonCode
        self.remarkCode = remarkCode
        self.payerID = payerID
        self.precedence = precedence
        self.queue = queue
        self.action = action
        self.description = description
    }

    /// How many fields the rule pins down (0...4): between rules of one precedence, the one
    /// that says more about the denial wins.
    public var specificity: Int {
        [groupCode, reasonCode, remarkCode, payerID].count(where: { $0 != nil })
    }

    /// Whether the rule matches one adjustment, given the claim's remark codes and payer.
    public func matches(_ reason: DenialReason, remarkCodes: some Collection<String>, payerID: String?) -> Bool {
        if let groupCode, groupCode != reason.groupCode { return false }
        if let reasonCode, reasonCode != reason.reasonCode { return false }
        if let remarkCode, !remarkCodes.contains(remarkCode) { return false }
        if let required = self.payerID, required != payerID { return false }
        return true
    }
}

/// The rule that routed a denial, and the adjustment it matched.
public struct DenialRoute: Sendable, Hashable, Codable {
    public var rule: DenialRule
    public var reason: DenialReason

    public init(rule: DenialRule, reason: DenialReason) {
        self.rule = rule
        self.reason = reason
    }

    public var queue: DenialQueue { rule.queue }
    public var action: DenialAction { rule.action }
}

/// Routes a denial by the table of rules (group code, CARC, RARC, payer), not by the CARC
/// alone: the same CARC 16 is a coder's fix with RARC M76 and a biller's without it.
public enum DenialRouting {
    /// The rule that routes these adjustments: among every (rule, reason) pair where the rule
    /// matches the reason (each non-nil field equal; remarkCode present in remarkCodes; payerID
    /// equal), the lowest precedence wins; ties go to the more specific rule (more non-nil
    /// fields), then the lower id. Nil when nothing matches.
    ///
    /// When the winning rule matches more than one of the reasons, the route names the first of
    /// them in the order given (the 835's order: claim level first, then the lines).
    /// Codes are compared exactly, as the 835 spells them.
    public static func route(
        reasons: [DenialReason], remarkCodes: [String], payerID: String?, rules: [DenialRule]
    ) -> DenialRoute? {
        let remarks = Set(remarkCodes)
        var best: DenialRoute?
        for rule in rules {
            if let current = best?.rule, !precedes(rule, current) { continue }
            if let reason = reasons.first(where: { rule.matches($0, remarkCodes: remarks, payerID: payerID) }) {
                best = DenialRoute(rule: rule, reason: reason)
            }
        }
        return best
    }

    /// Whether `rule` wins over `other`: lower precedence, then more specific, then lower id.
    public static func precedes(_ rule: DenialRule, _ other: DenialRule) -> Bool {
        if rule.precedence != other.precedence { return rule.precedence < other.precedence }
        if rule.specificity != other.specificity { return rule.specificity > other.specificity }
        return rule.id < other.id
    }
}
