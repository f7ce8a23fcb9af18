public import Foundation

/// One CAS adjustment: why part of a charge was not paid, and who owes it.
public struct RemittanceAdjustment: Sendable, Hashable, Codable {
    /// CAS01: `CO` contractual (the provider writes it off), `PR` patient responsibility,
    /// `OA` other, `PI` payer initiated; `CR` (correction) only appears in older files.
    public var groupCode: String
    /// The CARC, such as 45 (exceeds fee schedule), 11 (diagnosis inconsistent with
    /// procedure) or 29 (filing time limit expired).
    public var reasonCode: String
    /// Negative when the payer gives back an earlier adjustment (and in a reversal).
    public var amount: Decimal
    public var quantity: Decimal?

    public init(groupCode: String, reasonCode: String, amount: Decimal, quantity: Decimal? = nil) {
        self.groupCode = groupCode
        self.reasonCode = reasonCode
        self.amount = amount
        self.quantity = quantity
    }
}

/// One service line of a claim payment (loop 2110: SVC and what follows it).
public struct RemittanceLine: Sendable, Hashable {
    /// SVC01-1, such as `HC` (CPT/HCPCS).
    public var procedureQualifier: String
    /// SVC01-2: the procedure the payer adjudicated.
    public var procedureCode: String
    /// SVC01-3...SVC01-6.
    public var modifiers: [String]
    /// SVC02: the line charge.
    public var charge: Decimal
    /// SVC03: the line payment.
    public var paid: Decimal
    /// SVC05, the units paid; nil when left out (which means 1).
    public var units: Decimal?
    /// SVC06-2: the procedure as billed, when the payer adjudicated a different one.
    public var billedProcedureCode: String?
    /// REF*6R: the line item control number the 837P sent (REF*6R of loop 2400), which names
    /// the service line (`X12Claim.lineItemControlNumber(patientControlNumber:line:)`).
    public var lineItemControlNumber: String?
    /// AMT*B6: the allowed amount.
    public var allowed: Decimal?
    /// The line's CAS adjustments, in file order.
    public var adjustments: [RemittanceAdjustment]
    /// LQ*HE remark codes (RARC) of the line.
    public var remarkCodes: [String]
    /// 1-based position of the SVC in the file.
    public var segmentPosition: Int

    public init(
        procedureQualifier: String = "HC", procedureCode: String, modifiers: [String] = [], charge: Decimal, paid: Decimal,
        units: Decimal? = nil, billedProcedureCode: String? = nil, lineItemControlNumber: String? = nil,
        allowed: Decimal? = nil, adjustments: [RemittanceAdjustment] = [], remarkCodes: [String] = [], segmentPosition: Int = 0
    ) {
        self.procedureQualifier = procedureQualifier
        self.procedureCode = procedureCode
        self.modifiers = modifiers
        self.charge = charge
        self.paid = paid
        self.units = units
        self.billedProcedureCode = billedProcedureCode
        self.lineItemControlNumber = lineItemControlNumber
        self.allowed = allowed
        self.adjustments = adjustments
        self.remarkCodes = remarkCodes
        self.segmentPosition = segmentPosition
    }

    /// SVC02 − ΣCAS = SVC03: what the payer says it did with the line adds up.
    public var isBalanced: Bool { charge - adjustments.reduce(0) { $0 + $1.amount } == paid }
}

/// One claim's payment or denial from an 835 (loop 2100 and its 2110 service lines).
public struct RemittanceClaim: Sendable, Hashable {
    /// CLP01: the CLM01 we sent.
    public var patientControlNumber: String
    /// CLP02. `1`, `2`, `3`: processed as primary, secondary, tertiary (paid, possibly zero,
    /// for example when everything went to the deductible); `19`, `20`, `21`: the same, and
    /// forwarded to another payer; `4`: denied; `22`: reversal of an earlier payment;
    /// `23`: not our claim, forwarded; `25`: predetermination pricing only, no payment.
    public var statusCode: String
    /// CLP03: the total charge the payer adjudicated (negative in a reversal).
    public var charge: Decimal
    /// CLP04: negative in a reversal.
    public var paid: Decimal
    /// CLP05.
    public var patientResponsibility: Decimal?
    /// CLP07: the payer's claim number, which a replacement or void must quote (REF*F8).
    public var payerClaimControlNumber: String?
    /// The claim-level CAS adjustments (loop 2100), in file order; the lines carry their own.
    public var adjustments: [RemittanceAdjustment]
    /// Claim-level RARC remark codes: MOA03...MOA07 (or MIA05 and MIA20...MIA24).
    public var remarkCodes: [String]
    /// The service lines (loop 2110), in file order; empty when the payer answered at the
    /// claim level only.
    public var lines: [RemittanceLine]
    /// The payer of the transaction set this claim came in.
    public var payerID: String?
    /// TRN02 of the transaction set this claim came in: the check or EFT trace number.
    public var checkNumber: String?
    /// 1-based position of the CLP in the file.
    public var segmentPosition: Int

    public init(
        patientControlNumber: String, statusCode: String, charge: Decimal, paid: Decimal,
        patientResponsibility: Decimal? = nil, payerClaimControlNumber: String? = nil,
        adjustments: [RemittanceAdjustment] = [], remarkCodes: [String] = [], lines: [RemittanceLine] = [],
        payerID: String? = nil, checkNumber: String? = nil, segmentPosition: Int = 0
    ) {
        self.patientControlNumber = patientControlNumber
        self.statusCode = statusCode
        self.charge = charge
        self.paid = paid
        self.patientResponsibility = patientResponsibility
        self.payerClaimControlNumber = payerClaimControlNumber
        self.adjustments = adjustments
        self.remarkCodes = remarkCodes
        self.lines = lines
        self.payerID = payerID
        self.checkNumber = checkNumber
        self.segmentPosition = segmentPosition
    }

    /// Only CLP02 `4` is a denial. A processed claim paid zero (deductible, or every line
    /// adjusted) is not, because the payer adjudicated it; its lines' adjustments say why.
    public var isDenied: Bool { statusCode == "4" }

    /// CLP02 `22`: the payer takes back an earlier payment, usually before paying a
    /// corrected claim in the same or a later 835.
    public var isReversal: Bool { statusCode == "22" }

    /// Every adjustment, claim level first, then each line's.
    public var allAdjustments: [RemittanceAdjustment] { adjustments + lines.flatMap(\.adjustments) }

    /// Every remark code, claim level first, then each line's, without repeats.
    public var allRemarkCodes: [String] {
        var seen: Set<String> = []
        return (remarkCodes + lines.flatMap(\.remarkCodes)).filter { seen.insert($0).inserted }
    }

    /// The CARCs of all adjustments, claim level first, without repeats.
    public var reasonCodes: [String] {
        var seen: Set<String> = []
        return allAdjustments.map(\.reasonCode).filter { seen.insert($0).inserted }
    }

    /// Why the claim does not balance, empty when it does: CLP03 − ΣCAS (claim and lines) =
    /// CLP04, and for each line SVC02 − ΣCAS = SVC03. Named by element and amount only.
    public var balanceFindings: [String] {
        var findings: [String] = []
        let adjusted = allAdjustments.reduce(Decimal(0)) { $0 + $1.amount }
        if charge - adjusted != paid {
            findings.append("CLP03 \(charge) − adjustments \(adjusted) = \(charge - adjusted), not CLP04 \(paid)")
        }
        for (index, line) in lines.enumerated() where !line.isBalanced {
            let lineAdjusted = line.adjustments.reduce(Decimal(0)) { $0 + $1.amount }
            findings.append(
                "service line \(index + 1): SVC02 \(line.charge) − adjustments \(lineAdjusted) = \(line.charge - lineAdjusted), not SVC03 \(line.paid)"
            )
        }
        return findings
    }
}

/// One PLB adjustment: money moved between the payer and the provider outside any claim
/// (interest, recoupment of an earlier overpayment, a forwarding balance).
public struct ProviderAdjustment: Sendable, Hashable {
    /// PLB01: the provider the adjustment is for (usually the NPI).
    public var providerID: String
    /// PLB02: the last day of the provider's fiscal period, as sent (CCYYMMDD).
    public var fiscalPeriodDate: String
    /// PLB03-1 (and PLB05-1, ...): `WO` overpayment recovery, `FB` forwarding balance, `L6`
    /// interest owed, `72` authorized return, `CS` adjustment, `J1` non-reimbursable, ...
    public var reasonCode: String
    /// PLB03-2: the payer's reference, such as the claim number being recouped.
    public var reference: String?
    /// PLB04: positive when the payer takes money back, negative when it adds (interest).
    public var amount: Decimal
    /// 1-based position of the PLB in the file.
    public var segmentPosition: Int

    public init(
        providerID: String, fiscalPeriodDate: String, reasonCode: String, reference: String? = nil, amount: Decimal,
        segmentPosition: Int = 0
    ) {
        self.providerID = providerID
        self.fiscalPeriodDate = fiscalPeriodDate
        self.reasonCode = reasonCode
        self.reference = reference
        self.amount = amount
        self.segmentPosition = segmentPosition
    }
}

/// One 835 transaction set: one payment (check, EFT or notice) from one payer.
public struct RemittancePayment: Sendable, Hashable {
    /// REF*2U of the payer loop, else N104, else TRN03.
    public var payerID: String?
    /// TRN02: the check or EFT trace number.
    public var checkNumber: String
    /// BPR02: the total actually paid.
    public var totalPaid: Decimal
    /// BPR03: `C` credit, `D` debit (the provider owes the payer).
    public var creditDebit: String
    /// BPR04: `ACH`, `CHK`, `NON` (no payment), `BOP`, `FWT`.
    public var paymentMethod: String
    /// BPR16: the date the money is paid, as sent (CCYYMMDD), when present.
    public var paymentDate: String?
    public var claims: [RemittanceClaim]
    public var providerAdjustments: [ProviderAdjustment]
    /// 1-based position of the ST in the file.
    public var segmentPosition: Int

    public init(
        payerID: String?, checkNumber: String, totalPaid: Decimal, creditDebit: String = "C", paymentMethod: String = "ACH",
        paymentDate: String? = nil, claims: [RemittanceClaim], providerAdjustments: [ProviderAdjustment] = [],
        segmentPosition: Int = 0
    ) {
        self.payerID = payerID
        self.checkNumber = checkNumber
        self.totalPaid = totalPaid
        self.creditDebit = creditDebit
        self.paymentMethod = paymentMethod
        self.paymentDate = paymentDate
        self.claims = claims
        self.providerAdjustments = providerAdjustments
        self.segmentPosition = segmentPosition
    }

    /// ΣCLP04 − ΣPLB04 = BPR02 (a debit, BPR03 `D`, counts negative): the payment's total
    /// is what its claims and provider adjustments add up to.
    public var balanceFinding: String? {
        let claims = claims.reduce(Decimal(0)) { $0 + $1.paid }
        let provider = providerAdjustments.reduce(Decimal(0)) { $0 + $1.amount }
        let total = creditDebit == "D" ? -totalPaid : totalPaid
        guard claims - provider != total else { return nil }
        return "claim payments \(claims) − provider adjustments \(provider) = \(claims - provider), not BPR02 \(totalPaid)"
    }
}

enum RemittanceReader {
    static let statusCodes: Set<String> = ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]
    static let groupCodes: Set<String> = ["CO", "OA", "PI", "PR", "CR"]

    /// A claim being read: its CLP, then its claim-level segments, then its service lines.
    private struct Claim {
        var claim: RemittanceClaim
        var line: RemittanceLine?

        mutating func finishLine() {
            if let line { claim.lines.append(line) }
            line = nil
        }

        /// Reads a segment of the claim (loop 2100) or of its current service line (2110).
        mutating func read(_ segment: X12Segment) throws(X12ParseError) {
            switch segment.id {
            case "CAS":
                let adjustments = try RemittanceReader.adjustments(segment)
                if line != nil { line!.adjustments += adjustments } else { claim.adjustments += adjustments }
            case "MOA" where line == nil:
                claim.remarkCodes += segment.values(3...7)
            case "MIA" where line == nil:
                claim.remarkCodes += segment.values([5] + Array(20...24))
            case "SVC":
                finishLine()
                line = try RemittanceReader.serviceLine(segment)
            case "REF" where line != nil && segment[1] == "6R":
                line!.lineItemControlNumber = segment.value(2)
            case "AMT" where line != nil && segment[1] == "B6":
                line!.allowed = try segment.amount(2, "allowed amount")
            case "LQ":
                guard line != nil else { throw segment.error("LQ outside a service line (no SVC before it)") }
                if segment[1] == "HE" { line!.remarkCodes.append(try segment.required(2, "the remark code")) }
            default:
                break
            }
        }
    }

    static func read(_ set: X12TransactionSet) throws(X12ParseError) -> RemittancePayment {
        var cursor = X12Cursor(set)
        let bpr = try cursor.next("BPR")
        try bpr.required(1, "transaction handling code")
        let total = try bpr.amount(2, "total payment")
        let creditDebit = bpr.value(3) ?? "C"
        guard creditDebit == "C" || creditDebit == "D" else {
            throw bpr.error("BPR03 \(creditDebit) is neither C (credit) nor D (debit)")
        }

        var trn: X12Segment?
        var inPayer = false
        var payerREF: String?
        var payerN1: String?
        var inHeader = true
        var claim: Claim?
        var claims: [RemittanceClaim] = []
        var providerAdjustments: [ProviderAdjustment] = []
        // LX, CLP and PLB end the header (payer and payee loops) and the claim before them.
        func finish() {
            if var done = claim {
                done.finishLine()
                claims.append(done.claim)
            }
            claim = nil
            inHeader = false
            inPayer = false
        }
        for segment in cursor.rest {
            switch segment.id {
            case "TRN" where inHeader:
                guard trn == nil else { break }
                try segment.required(2, "check or EFT trace number")
                trn = segment
            case "N1" where inHeader:
                inPayer = segment[1] == "PR"
                if inPayer, !segment[3].isEmpty, !segment[4].isEmpty { payerN1 = segment[4] }
            case "REF" where inPayer && segment[1] == "2U":
                payerREF = segment.value(2) ?? payerREF
            case "LX":
                finish()
            case "CLP":
                finish()
                claim = Claim(claim: try clp(segment))
            case "CAS", "MOA", "MIA", "SVC", "LQ":
                guard claim != nil else { throw segment.error("\(segment.id) outside a claim (no CLP before it)") }
                try claim!.read(segment)
            case "REF", "AMT":
                try claim?.read(segment)
            case "PLB":
                finish()
                providerAdjustments += try self.providerAdjustments(segment)
            default:
                break
            }
        }
        finish()
        guard let trn else { throw set.trailer.error("the 835 has no TRN (check or EFT trace number)") }
        let payerID = payerREF ?? payerN1 ?? trn.value(3)
        let checkNumber = trn[2]
        return RemittancePayment(
            payerID: payerID, checkNumber: checkNumber, totalPaid: total, creditDebit: creditDebit,
            paymentMethod: bpr[4], paymentDate: bpr.value(16),
            claims: claims.map { claim in
                var claim = claim
                claim.payerID = payerID
                claim.checkNumber = checkNumber
                return claim
            },
            providerAdjustments: providerAdjustments, segmentPosition: set.header.position)
    }

    private static func clp(_ segment: X12Segment) throws(X12ParseError) -> RemittanceClaim {
        let patientControlNumber = try segment.required(1, "the patient control number")
        let status = try segment.required(2, "the claim status")
        guard statusCodes.contains(status) else {
            throw segment.error("CLP02 \(status) is not a claim status code (1, 2, 3, 4, 19, 20, 21, 22, 23 or 25)")
        }
        return RemittanceClaim(
            patientControlNumber: patientControlNumber, statusCode: status,
            charge: try segment.amount(3, "total claim charge"),
            paid: try segment.amount(4, "claim payment"),
            patientResponsibility: try segment.optionalAmount(5, "patient responsibility"),
            payerClaimControlNumber: segment.value(7), segmentPosition: segment.position)
    }

    private static func serviceLine(_ segment: X12Segment) throws(X12ParseError) -> RemittanceLine {
        let procedure = segment.components(1)
        guard procedure.count >= 2, !procedure[1].isEmpty else {
            throw segment.error("SVC01 needs the procedure qualifier and code (such as HC:99213)")
        }
        let billed = segment.components(6)
        return RemittanceLine(
            procedureQualifier: procedure[0], procedureCode: procedure[1],
            modifiers: procedure.dropFirst(2).prefix(4).filter { !$0.isEmpty },
            charge: try segment.amount(2, "line charge"), paid: try segment.amount(3, "line payment"),
            units: try segment.optionalAmount(5, "units paid"),
            billedProcedureCode: billed.count >= 2 && !billed[1].isEmpty ? billed[1] : nil,
            segmentPosition: segment.position)
    }

    static func adjustments(_ segment: X12Segment) throws(X12ParseError) -> [RemittanceAdjustment] {
        let group = segment[1]
        guard groupCodes.contains(group) else {
            throw segment.error("CAS01 \(group) is not a claim adjustment group code (CO, OA, PI or PR)")
        }
        var result: [RemittanceAdjustment] = []
        // Up to six reason, amount, quantity triples: CAS02-04, CAS05-07, ... CAS17-19.
        for first in stride(from: 2, through: 17, by: 3) {
            let reason = segment[first]
            guard !reason.isEmpty else {
                guard segment[first + 1].isEmpty, segment[first + 2].isEmpty else {
                    throw segment.error(
                        "\(segment.elementName(first + 1)) has an amount without a reason code (\(segment.elementName(first)))")
                }
                continue
            }
            result.append(
                RemittanceAdjustment(
                    groupCode: group, reasonCode: reason,
                    amount: try segment.amount(first + 1, "adjustment amount for reason \(reason)"),
                    quantity: try segment.optionalAmount(first + 2, "adjustment quantity")))
        }
        guard !result.isEmpty else { throw segment.error("CAS has no reason code and amount (CAS02, CAS03)") }
        return result
    }

    /// PLB moves money between the payment and the claims (interest, recoupments): up to six
    /// reason and amount pairs, PLB03/04 ... PLB13/14. A garbled amount there means the
    /// payment total cannot be trusted either, so it is an error.
    private static func providerAdjustments(_ segment: X12Segment) throws(X12ParseError) -> [ProviderAdjustment] {
        guard !segment[1].isEmpty, !segment[2].isEmpty else {
            throw segment.error("PLB needs the provider identifier (PLB01) and the fiscal period date (PLB02)")
        }
        var result: [ProviderAdjustment] = []
        for first in stride(from: 3, through: 13, by: 2) where !segment[first].isEmpty || !segment[first + 1].isEmpty {
            let reason = segment.components(first)
            guard let code = reason.first, !code.isEmpty else {
                throw segment.error("\(segment.elementName(first + 1)) has an amount without a reason (\(segment.elementName(first)))")
            }
            result.append(
                ProviderAdjustment(
                    providerID: segment[1], fiscalPeriodDate: segment[2], reasonCode: code,
                    reference: reason.count > 1 && !reason[1].isEmpty ? reason[1] : nil,
                    amount: try segment.amount(first + 1, "provider adjustment amount"), segmentPosition: segment.position))
        }
        guard !result.isEmpty else { throw segment.error("PLB has no adjustment reason and amount (PLB03, PLB04)") }
        return result
    }
}
