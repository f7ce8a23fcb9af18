public import Foundation

/// Payer answer files (277CA, 835) for ClaimFlow's own claims, as a clearinghouse would send
/// them, with correct envelope counts: for tests that play the payer.
public enum X12AnswerFiles {
    /// A 277CA: one patient loop per claim, accepted (A2) or rejected (A7:562).
    public static func claimAcknowledgment(_ claims: [(pcn: String, accepted: Bool)], control: Int = 902) -> String {
        var body = [
            "BHT*0085*08*277CA\(control)*20261120*0900*TH", "HL*1**20*1", "NM1*PR*2*DEMO PAYER*****PI*60054", "TRN*1*\(control)",
            "DTP*050*D8*20261119", "DTP*009*D8*20261120", "HL*2*1*21*1", "NM1*41*2*CLAIMFLOW BILLING*****46*CLAIMFLOW",
            "TRN*2*\(control)", "STC*A1:19:PR*20261120*WQ*0", "HL*3*2*19*1", "NM1*85*2*PRACTICE*****XX*1234567893", "TRN*1*0",
            "STC*A1:19:PR**WQ*0",
        ]
        for (index, claim) in claims.enumerated() {
            body += ["HL*\(4 + index)*3*PT", "NM1*QC*1*PATIENT*TEST****MI*M\(index)", "TRN*2*\(claim.pcn)"]
            if claim.accepted {
                body += ["STC*A2:20:PR*20261120*WQ*125", "REF*1K*PCN\(control)\(index)"]
            } else {
                body += ["STC*A7:562:85*20261120*U*125"]
            }
            body += ["DTP*472*D8*20261102"]
        }
        return envelope(functional: "HN", version: "005010X214", set: "277", control: control, body: body)
    }

    /// An 835 with one CLP per claim: paid (CLP02 1) or denied (CLP02 4) with its CARC.
    public static func remittance(_ claims: [(pcn: String, paid: Decimal, denialReason: String?)], control: Int = 903) -> String {
        let total = claims.reduce(Decimal(0)) { $0 + $1.paid }
        var body = [
            "BPR*I*\(total)*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*031300012*DA*987654321*20261125",
            "TRN*1*EFT\(control)*1512345678", "DTM*405*20261124", "N1*PR*DEMO PAYER", "N3*1 PAYER WAY", "N4*HARTFORD*CT*06156",
            "REF*2U*60054", "N1*PE*PRACTICE*XX*1234567893", "LX*1",
        ]
        for (index, claim) in claims.enumerated() {
            if let reason = claim.denialReason {
                body += ["CLP*\(claim.pcn)*4*125*0*0*12*PAYER\(control)\(index)*11*1", "CAS*CO*\(reason)*125"]
            } else {
                body += ["CLP*\(claim.pcn)*1*125*\(claim.paid)*0*12*PAYER\(control)\(index)*11*1", "CAS*CO*45*\(125 - claim.paid)"]
            }
            body += ["NM1*QC*1*PATIENT*TEST****MI*M\(index)", "DTM*232*20261102"]
        }
        return envelope(functional: "HP", version: "005010X221A1", set: "835", control: control, body: body)
    }

    /// A 999 answering transaction sets of one 837P group: accepted (IK5*A) or rejected (IK5*R).
    public static func implementationAcknowledgment(group: Int, sets: [(number: String, accepted: Bool)], control: Int = 904) -> String {
        var body = ["AK1*HC*\(group)*005010X222A1"]
        for set in sets {
            body += ["AK2*837*\(set.number)*005010X222A1"]
            body += set.accepted ? ["IK5*A"] : ["IK3*CLM*22**8", "IK5*R*5"]
        }
        let accepted = sets.filter(\.accepted).count
        body += ["AK9*\(accepted == sets.count ? "A" : accepted == 0 ? "R" : "P")*\(sets.count)*\(sets.count)*\(accepted)"]
        return envelope(functional: "FA", version: "005010X231A1", set: "999", control: control, body: body)
    }

    /// An 835 with the given claim loops (CLP and what follows, without LX) and PLB segments,
    /// paying `total` (BPR02) under trace `check`. The segments are written as given, so a test
    /// can send anything a payer sends.
    public static func payment(
        total: Decimal, check: String, claims: [[String]], providerAdjustments: [String] = [], payer: String = "60054",
        control: Int = 905
    ) -> String {
        var body = [
            "BPR*I*\(total)*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*031300012*DA*987654321*20261125",
            "TRN*1*\(check)*1512345678", "DTM*405*20261124", "N1*PR*DEMO PAYER", "N3*1 PAYER WAY", "N4*HARTFORD*CT*06156",
            "REF*2U*\(payer)", "N1*PE*PRACTICE*XX*1234567893", "LX*1",
        ]
        for claim in claims { body += claim }
        body += providerAdjustments
        return envelope(functional: "HP", version: "005010X221A1", set: "835", control: control, body: body)
    }

    /// A 277CA that answers above the claims: a batch-level status (loop 2200B) whose trace is
    /// `batchTrace`, and, when `providerNPI` is given, a provider-level status (2200C) under it.
    /// Only the rejecting level carries `status` (such as `A3:24`); no patient loops.
    public static func levelAcknowledgment(
        batchTrace: String, providerNPI: String? = nil, status: String = "A3:24", control: Int = 907
    ) -> String {
        let batchStatus = providerNPI == nil ? status : "A1:19"
        var body = [
            "BHT*0085*08*277CA\(control)*20261120*0900*TH", "HL*1**20*1", "NM1*PR*2*DEMO PAYER*****PI*60054", "TRN*1*\(control)",
            "DTP*050*D8*20261119", "DTP*009*D8*20261120", "HL*2*1*21*\(providerNPI == nil ? 0 : 1)",
            "NM1*41*2*CLAIMFLOW BILLING*****46*CLAIMFLOW", "TRN*2*\(batchTrace)", "STC*\(batchStatus)*20261120*U*375",
        ]
        if let providerNPI {
            body += ["HL*3*2*19*0", "NM1*85*2*PRACTICE*****XX*\(providerNPI)", "TRN*1*0", "STC*\(status)*20261120*U*375"]
        }
        return envelope(functional: "HN", version: "005010X214", set: "277", control: control, body: body)
    }

    /// A file holding one TA1 and nothing else: the receiver's answer to the envelope of our
    /// interchange `interchange` (ISA13), `A` accepted or `R` rejected with note `note`.
    public static func interchangeAcknowledgment(interchange: Int, code: String, note: String = "022", control: Int = 908) -> String {
        let number = String(format: "%09d", control)
        let header = "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLAIMFLOW      *261120*0900*^*00501*\(number)*0*T*:"
        let segments = [header, "TA1*\(String(format: "%09d", interchange))*261120*0900*\(code)*\(note)", "IEA*0*\(number)"]
        return segments.map { $0 + "~" }.joined(separator: "\n") + "\n"
    }

    static func envelope(functional: String, version: String, set: String, control: Int, body: [String]) -> String {
        let number = String(format: "%09d", control)
        let header = "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLAIMFLOW      *261120*0900*^*00501*\(number)*0*T*:"
        var segments = [header, "GS*\(functional)*CLEARHOUSE*CLAIMFLOW*20261120*0900*\(control)*X*\(version)"]
        let transaction = ["ST*\(set)*0001" + (set == "835" ? "" : "*\(version)")] + body
        segments += transaction + ["SE*\(transaction.count + 1)*0001", "GE*1*\(control)", "IEA*1*\(number)"]
        return segments.map { $0 + "~" }.joined(separator: "\n") + "\n"
    }
}
