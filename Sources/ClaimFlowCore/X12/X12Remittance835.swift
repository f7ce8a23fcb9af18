public import Foundation

/// One claim's payment or denial from an 835 (loop 2100 and its 2110 service lines).
public struct RemittanceClaim: Sendable, Hashable {
    /// One CAS adjustment: why part of the charge was not paid, and who owes it.
    public struct Adjustment: Sendable, Hashable {
        /// CAS01: `CO` contractual (the provider writes it off), `PR` patient responsibility,
        /// `OA` other, `PI` payer initiated; `CR` (correction) only appears in older files.
        public var groupCode: String
        /// The CARC, such as 45 (exceeds fee schedule), 11 (diagnosis inconsistent with
        /// procedure) or 29 (filing time limit expired).
        public var reasonCode: String
        /// Negative when the payer gives back an earlier adjustment.
        public var amount: Decimal
        public var quantity: Decimal?

        public init(groupCode: String, reasonCode: String, amount: Decimal, quantity: Decimal? = nil) {
            self.groupCode = groupCode
            self.reasonCode = reasonCode
            self.amount = amount
            self.quantity = quantity
        }
    }

    /// CLP01: the CLM01 we sent.
    public var patientControlNumber: String
    /// CLP02. `1`, `2`, `3`: processed as primary, secondary, tertiary (paid, possibly zero,
    /// for example when everything went to the deductible); `19`, `20`, `21`: the same, and
    /// forwarded to another payer; `4`: denied; `22`: reversal of an earlier payment;
    /// `23`: not our claim, forwarded; `25`: predetermination pricing only, no payment.
    public var statusCode: String
    /// CLP03: the total charge the payer adjudicated.
    public var charge: Decimal
    /// CLP04: negative in a reversal.
    public var paid: Decimal
    /// CLP05.
    public var patientResponsibility: Decimal?
    /// CLP07: the payer's claim number, which a replacement or void must quote (REF*F8).
    public var payerClaimControlNumber: String?
    /// Claim-level CAS first, then each service line's, in file order.
    public var adjustments: [Adjustment]
    /// RARC remark codes: MOA03...MOA07 (or MIA05 and MIA20...MIA24), then each service
    /// line's LQ*HE.
    public var remarkCodes: [String]
    /// The payer of the transaction set this claim came in (see `X12Answer.remittance`).
    public var payerID: String?
    /// TRN02 of the transaction set this claim came in: the check or EFT trace number.
    public var checkNumber: String?

    public init(
        patientControlNumber: String, statusCode: String, charge: Decimal, paid: Decimal,
        patientResponsibility: Decimal? = nil, payerClaimControlNumber: String? = nil, adjustments: [Adjustment] = [],
        remarkCodes: [String] = [], payerID: String? = nil, checkNumber: String? = nil
    ) {
        self.patientControlNumber = patientControlNumber
        self.statusCode = statusCode
        self.charge = charge
        self.paid = paid
        self.patientResponsibility = patientResponsibility
        self.payerClaimControlNumber = payerClaimControlNumber
        self.adjustments = adjustments
        self.remarkCodes = remarkCodes
        self.payerID = payerID
        self.checkNumber = checkNumber
    }

    /// Only CLP02 `4` is a denial. A processed claim paid zero (deductible, or every line
    /// adjusted) is not, because the payer adjudicated it and it needs no rework; read
    /// `adjustments` to tell such a claim apart.
    public var isDenied: Bool { statusCode == "4" }

    /// CLP02 `22`: the payer takes back an earlier payment, usually before paying a
    /// corrected claim in the same or a later 835.
    public var isReversal: Bool { statusCode == "22" }

    /// The CARCs of all adjustments, claim level first, without repeats.
    public var reasonCodes: [String] {
        var seen: Set<String> = []
        return adjustments.map(\.reasonCode).filter { seen.insert($0).inserted }
    }
}

/// One 835 transaction set: one payment (check, EFT or notice) from one payer.
struct Payment {
    var payerID: String?
    var checkNumber: String?
    var claims: [RemittanceClaim]
}

enum RemittanceReader {
    static let statusCodes: Set<String> = ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]
    static let groupCodes: Set<String> = ["CO", "OA", "PI", "PR", "CR"]

    private struct Claim {
        var claim: RemittanceClaim
        var inServiceLine = false

        /// Reads a CAS, MOA, MIA or SVC of the claim (loop 2100) or of its service lines (2110).
        mutating func read(_ segment: X12Segment) throws(X12ParseError) {
            switch segment.id {
            case "CAS":
                claim.adjustments += try adjustments(segment)
            case "MOA":
                claim.remarkCodes += segment.values(3...7)
            case "MIA":
                claim.remarkCodes += segment.values([5] + Array(20...24))
            case "SVC":
                guard !segment.components(1).isEmpty else { throw segment.error("SVC01 (the procedure) is empty") }
                _ = try segment.amount(2, "line charge")
                _ = try segment.amount(3, "line payment")
                inServiceLine = true
            default:
                break
            }
        }
    }

    static func read(_ set: X12TransactionSet) throws(X12ParseError) -> Payment {
        var cursor = X12Cursor(set)
        let bpr = try cursor.next("BPR")
        try bpr.required(1, "transaction handling code")
        _ = try bpr.amount(2, "total payment")

        var trn: X12Segment?
        var inPayer = false
        var payerREF: String?
        var payerN1: String?
        var inHeader = true
        var claim: Claim?
        var claims: [RemittanceClaim] = []
        // LX, CLP and PLB end the header (payer and payee loops) and the claim before them.
        func finish() {
            if let done = claim { claims.append(done.claim) }
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
            case "CAS", "MOA", "MIA", "SVC":
                guard claim != nil else { throw segment.error("\(segment.id) outside a claim (no CLP before it)") }
                try claim!.read(segment)
            case "LQ":
                guard claim?.inServiceLine == true else { throw segment.error("LQ outside a service line (no SVC before it)") }
                if segment[1] == "HE" {
                    claim!.claim.remarkCodes.append(try segment.required(2, "the remark code"))
                }
            case "PLB":
                finish()
                try checkProviderAdjustment(segment)
            default:
                break
            }
        }
        finish()
        guard let trn else { throw set.trailer.error("the 835 has no TRN (check or EFT trace number)") }
        let payerID = payerREF ?? payerN1 ?? trn.value(3)
        let checkNumber = trn[2]
        return Payment(
            payerID: payerID, checkNumber: checkNumber,
            claims: claims.map { claim in
                var claim = claim
                claim.payerID = payerID
                claim.checkNumber = checkNumber
                return claim
            })
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
            payerClaimControlNumber: segment.value(7))
    }

    private static func adjustments(_ segment: X12Segment) throws(X12ParseError) -> [RemittanceClaim.Adjustment] {
        let group = segment[1]
        guard groupCodes.contains(group) else {
            throw segment.error("CAS01 \(group) is not a claim adjustment group code (CO, OA, PI or PR)")
        }
        var result: [RemittanceClaim.Adjustment] = []
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
                RemittanceClaim.Adjustment(
                    groupCode: group, reasonCode: reason,
                    amount: try segment.amount(first + 1, "adjustment amount for reason \(reason)"),
                    quantity: try segment.optionalAmount(first + 2, "adjustment quantity")))
        }
        guard !result.isEmpty else { throw segment.error("CAS has no reason code and amount (CAS02, CAS03)") }
        return result
    }

    /// PLB moves money between the payment and the claims (interest, recoupments), so a
    /// garbled amount there means the payment total cannot be trusted either.
    private static func checkProviderAdjustment(_ segment: X12Segment) throws(X12ParseError) {
        guard !segment[1].isEmpty, !segment[2].isEmpty else {
            throw segment.error("PLB needs the provider identifier (PLB01) and the fiscal period date (PLB02)")
        }
        for first in stride(from: 3, through: 13, by: 2) where !segment[first].isEmpty || !segment[first + 1].isEmpty {
            guard !segment[first].isEmpty else {
                throw segment.error("\(segment.elementName(first + 1)) has an amount without a reason (\(segment.elementName(first)))")
            }
            _ = try segment.amount(first + 1, "provider adjustment amount")
        }
    }
}
