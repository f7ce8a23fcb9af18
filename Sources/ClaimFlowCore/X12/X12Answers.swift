public import Foundation

/// The three answers a payer or clearinghouse sends back for an 837P, told apart by ST01.
///
/// The raw value is how people name the answer (`277CA`), not ST01 (`277`); use
/// `init(transactionSetIdentifier:)` to read ST01.
public enum X12AnswerKind: String, Sendable, Hashable, CaseIterable {
    /// Implementation acknowledgment (005010X231A1): was each transaction set readable.
    case ack999 = "999"
    /// Claim acknowledgment (005010X214): did each claim enter the payer's system.
    case claimAck277CA = "277CA"
    /// Remittance advice (005010X221A1): what the payer paid or denied, and why.
    case remittance835 = "835"

    /// The kind for an ST01 value (`999`, `277` or `835`); nil for anything else.
    public init?(transactionSetIdentifier: String) {
        guard let kind = Self.allCases.first(where: { $0.transactionSetIdentifier == transactionSetIdentifier.trimmingSpaces })
        else { return nil }
        self = kind
    }

    /// ST01.
    public var transactionSetIdentifier: String {
        switch self {
        case .ack999: "999"
        case .claimAck277CA: "277"
        case .remittance835: "835"
        }
    }

    /// GS01: the functional group a transaction set of this kind must travel in.
    var functionalIdentifier: String {
        switch self {
        case .ack999: "FA"
        case .claimAck277CA: "HN"
        case .remittance835: "HP"
        }
    }

    /// GS08 of the HIPAA implementation guide. Only the part before the addenda letters is
    /// compared, so an unamended guide (005010X221) is read like its addendum (005010X221A1);
    /// a 277 claim status response (005010X212) is not a claim acknowledgment and is refused.
    var implementationGuide: String {
        switch self {
        case .ack999: "005010X231A1"
        case .claimAck277CA: "005010X214"
        case .remittance835: "005010X221A1"
        }
    }

    var implementationGuidePrefix: String { String(implementationGuide.prefix(10)) }
}

/// Why a payer's file cannot be read. Parsing stops at the first problem and never returns a
/// partial answer, so a claim is moved only by a file that was read whole.
///
/// The reason names segments, elements, codes, counts and control numbers; it never repeats
/// names or member ids, so it is safe to log and to show to the uploader.
public struct X12ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based index of the segment in the file (ISA is 1), so people can find it in an
    /// editor that shows one segment per line.
    public let segmentPosition: Int
    /// The segment's id (`SE`, `CLP`); empty when the file has no readable id there.
    public let segmentID: String
    public let reason: String

    public init(segmentPosition: Int, segmentID: String, reason: String) {
        self.segmentPosition = segmentPosition
        self.segmentID = segmentID
        self.reason = reason
    }

    public var description: String {
        segmentID.isEmpty
            ? "segment \(segmentPosition): \(reason)"
            : "segment \(segmentPosition) (\(segmentID)): \(reason)"
    }
}

/// One acknowledged 837P transaction set from a 999 (loop 2000, AK2...IK5).
///
/// ClaimFlow writes one claim per transaction set, so `groupControlNumber` (the GS06 we sent)
/// and `transactionSetControlNumber` (the ST02 we sent) name one claim.
public struct TransactionSetAck: Sendable, Hashable {
    /// AK102: the GS06 of the acknowledged functional group.
    public var groupControlNumber: Int
    /// AK202: the ST02 of the acknowledged transaction set. Empty when the 999 answers for the
    /// whole group without AK2 loops (see `coversWholeGroup`).
    public var transactionSetControlNumber: String
    /// IK501 `A` (accepted) or `E` (accepted with errors noted). `R`, `M`, `W` and `X` reject,
    /// and so does an AK9 that rejects the whole group, whatever the IK5 said.
    public var accepted: Bool
    /// Error codes, each prefixed with the segment that carries it, since the code lists
    /// overlap: `IK3:8` (segment error, IK304), `IK4:7` (element error, IK403), `IK5:5`
    /// (transaction set error, IK502...IK506) and, when the group is rejected, `AK9:...`
    /// (AK905...AK909).
    public var errorCodes: [String]

    public init(groupControlNumber: Int, transactionSetControlNumber: String, accepted: Bool, errorCodes: [String] = []) {
        self.groupControlNumber = groupControlNumber
        self.transactionSetControlNumber = transactionSetControlNumber
        self.accepted = accepted
        self.errorCodes = errorCodes
    }

    /// A receiver may accept or reject a whole group in AK9 without listing its transaction
    /// sets; that answer then applies to every claim sent in the group.
    public var coversWholeGroup: Bool { transactionSetControlNumber.isEmpty }
}

/// One claim's acknowledgment from a 277CA (loop 2200D and its 2220D service lines).
public struct ClaimAck: Sendable, Hashable {
    /// TRN02 of loop 2200D: the CLM01 we sent (`X12Claim.patientControlNumber(for:)`).
    public var patientControlNumber: String
    /// True when a status category accepts the claim and none rejects it, looking at the
    /// claim's STC segments and its service lines' (a rejected line rejects the claim).
    /// Accepting: A1 (received), A2 (accepted into adjudication), A0 (forwarded to another
    /// entity) and A5 (split upon acceptance). Rejecting: A3 (returned as unprocessable),
    /// A4 (not found), A6 (missing information), A7 (invalid information), A8 (relational
    /// field in error). A claim with neither is an error rather than a guess.
    public var accepted: Bool
    /// The status composites (STC01, then STC10 and STC11 when present) as
    /// `category:status[:entity]`, such as `A7:562:85`; the claim's first, then its lines'.
    public var statusCodes: [String]
    /// REF*1K: the payer's claim number, which a replacement or void must quote (REF*F8).
    public var payerClaimControlNumber: String?
    /// STC04 of the claim's first STC that has one: the total charge the payer read.
    public var amount: Decimal?

    public init(
        patientControlNumber: String, accepted: Bool, statusCodes: [String], payerClaimControlNumber: String? = nil,
        amount: Decimal? = nil
    ) {
        self.patientControlNumber = patientControlNumber
        self.accepted = accepted
        self.statusCodes = statusCodes
        self.payerClaimControlNumber = payerClaimControlNumber
        self.amount = amount
    }
}

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

/// What a payer's file says, read whole.
public enum X12Answer: Sendable, Hashable {
    /// Every AK2 loop of every 999 in the file, in file order.
    case acknowledgment999([TransactionSetAck])
    /// Every claim of every 277CA in the file, in file order.
    case claimAcknowledgment([ClaimAck])
    /// Every claim of every 835 in the file, in file order. `payerID` (REF*2U of the payer
    /// loop, else N104, else TRN03) and `checkNumber` (TRN02) are those of the file's
    /// payments when they all agree, nil when the file holds payments that differ; each
    /// claim carries its own.
    case remittance(payerID: String?, checkNumber: String?, [RemittanceClaim])

    public var kind: X12AnswerKind {
        switch self {
        case .acknowledgment999: .ack999
        case .claimAcknowledgment: .claimAck277CA
        case .remittance: .remittance835
        }
    }
}

/// Reads 999, 277CA and 835 files. A pure function from text to answer: the envelope
/// (ISA/GS/ST counts and control numbers) is checked whole, and so is every transaction set,
/// before anything is returned.
///
/// Separators are taken from the ISA, so any the sender picked are read. One file holds one
/// interchange with one kind of answer (several groups and transaction sets are fine).
public enum X12AnswerParser {
    public static func parse(_ text: String) throws(X12ParseError) -> X12Answer {
        let interchange = try X12Interchange(text)
        var kind: X12AnswerKind?
        var acks: [TransactionSetAck] = []
        var claimAcks: [ClaimAck] = []
        var payments: [Payment] = []
        for group in interchange.groups {
            for set in group.transactionSets {
                guard let setKind = X12AnswerKind(transactionSetIdentifier: set.identifier) else {
                    throw set.header.error(
                        "ST01 \(set.identifier) is not an answer ClaimFlow reads (999, 277 or 835)")
                }
                if let kind, kind != setKind {
                    throw set.header.error(
                        "a \(setKind.rawValue) after a \(kind.rawValue): a file must hold one kind of answer")
                }
                kind = setKind
                guard group.functionalIdentifier == setKind.functionalIdentifier else {
                    throw set.header.error(
                        "a \(setKind.transactionSetIdentifier) belongs in a GS01 \(setKind.functionalIdentifier) group, "
                            + "not \(group.functionalIdentifier)"
                    )
                }
                guard group.implementationConvention.hasPrefix(setKind.implementationGuidePrefix) else {
                    throw group.header.error(
                        "GS08 \(group.implementationConvention) is not the \(setKind.rawValue) implementation guide "
                            + "(\(setKind.implementationGuide))"
                    )
                }
                let convention = set.header[3]
                guard convention.isEmpty || convention == group.implementationConvention else {
                    throw set.header.error("ST03 \(convention) does not match GS08 \(group.implementationConvention)")
                }
                switch setKind {
                case .ack999: acks += try Ack999Reader.read(set)
                case .claimAck277CA: claimAcks += try ClaimAckReader.read(set)
                case .remittance835: payments.append(try RemittanceReader.read(set))
                }
            }
        }
        switch kind {
        case .ack999: return .acknowledgment999(acks)
        case .claimAck277CA: return .claimAcknowledgment(claimAcks)
        case .remittance835, nil:
            // Groups are never empty (the envelope check refuses them), so nil cannot occur.
            func shared(_ value: (Payment) -> String?) -> String? {
                let values = Set(payments.map(value))
                return values.count == 1 ? values.first! : nil
            }
            return .remittance(
                payerID: shared(\.payerID), checkNumber: shared(\.checkNumber), payments.flatMap(\.claims))
        }
    }
}

// MARK: - 999

private enum Ack999Reader {
    static func read(_ set: X12TransactionSet) throws(X12ParseError) -> [TransactionSetAck] {
        var cursor = Cursor(set)
        let ak1 = cursor.current
        guard ak1.id == "AK1" else { throw cursor.unexpected(expecting: "AK1 (the acknowledged group)") }
        guard let group = controlNumber(ak1[2]) else {
            throw ak1.error("AK102 \(ak1[2]) is not a group control number (1 to 9 digits)")
        }
        cursor.advance()

        var acks: [TransactionSetAck] = []
        while cursor.current.id == "AK2" {
            let ak2 = cursor.current
            let number = ak2[2]
            guard !number.isEmpty else { throw ak2.error("AK202 (the acknowledged ST02) is empty") }
            cursor.advance()
            var codes: [String] = []
            while ["IK3", "CTX", "IK4"].contains(cursor.current.id) {
                let note = cursor.current
                switch note.id {
                case "IK3":
                    guard !note[1].isEmpty, !note[4].isEmpty else {
                        throw note.error("IK3 needs the segment id (IK301) and the error code (IK304)")
                    }
                    codes.append("IK3:" + note[4])
                case "IK4":
                    guard !note[3].isEmpty else { throw note.error("IK403 (the element error code) is empty") }
                    codes.append("IK4:" + note[3])
                default:
                    break
                }
                cursor.advance()
            }
            let ik5 = cursor.current
            guard ik5.id == "IK5" else {
                throw cursor.unexpected(expecting: "IK5 closing the AK2 loop of transaction set \(number)")
            }
            let accepted: Bool
            switch ik5[1] {
            case "A", "E": accepted = true
            case "M", "R", "W", "X": accepted = false
            default: throw ik5.error("IK501 \(ik5[1]) is not A, E, M, R, W or X")
            }
            for element in 2...6 where !ik5[element].isEmpty {
                codes.append("IK5:" + ik5[element])
            }
            acks.append(
                TransactionSetAck(
                    groupControlNumber: group, transactionSetControlNumber: number, accepted: accepted, errorCodes: codes))
            cursor.advance()
        }

        let ak9 = cursor.current
        guard ak9.id == "AK9" else { throw cursor.unexpected(expecting: "AK2 or AK9") }
        let groupAccepted: Bool?
        switch ak9[1] {
        case "A", "E": groupAccepted = true
        case "P": groupAccepted = nil
        case "M", "R", "W", "X": groupAccepted = false
        default: throw ak9.error("AK901 \(ak9[1]) is not A, E, P, M, R, W or X")
        }
        var counts: [Int] = []
        for element in 2...4 {
            guard let count = setCount(ak9[element]) else {
                throw ak9.error("AK90\(element) \(ak9[element]) is not a transaction set count")
            }
            counts.append(count)
        }
        let (received, acceptedCount) = (counts[1], counts[2])
        guard acks.count <= received else {
            throw ak9.error("AK903 says \(received) transaction sets were received, the 999 answers for \(acks.count)")
        }
        guard acceptedCount <= received else {
            throw ak9.error("AK904 says \(acceptedCount) transaction sets were accepted of \(received) received")
        }
        let groupCodes = (5...9).map { ak9[$0] }.filter { !$0.isEmpty }.map { "AK9:" + $0 }
        if groupAccepted == false {
            // A rejected group is rejected whole: the receiver processes none of its sets.
            acks = acks.map { ack in
                var ack = ack
                ack.accepted = false
                ack.errorCodes += groupCodes
                return ack
            }
        } else if acks.count == received {
            let listed = acks.count(where: \.accepted)
            guard listed == acceptedCount else {
                throw ak9.error("AK904 says \(acceptedCount) transaction sets were accepted, the IK5 segments accept \(listed)")
            }
        }
        if acks.isEmpty {
            guard let groupAccepted else {
                throw ak9.error("AK901 P (partially accepted) without AK2 loops does not say which transaction sets were accepted")
            }
            acks = [
                TransactionSetAck(
                    groupControlNumber: group, transactionSetControlNumber: "", accepted: groupAccepted,
                    errorCodes: groupCodes)
            ]
        }
        cursor.advance()
        guard cursor.isAtEnd else { throw cursor.current.error("\(cursor.current.id) after AK9; AK9 ends a 999") }
        return acks
    }
}

// MARK: - 277CA

private enum ClaimAckReader {
    static let accepting: Set<String> = ["A0", "A1", "A2", "A5"]
    static let rejecting: Set<String> = ["A3", "A4", "A6", "A7", "A8"]
    /// HL03 of each 277CA level and the level its HL02 must point to.
    static let parentLevel: [String: String] = ["20": "", "21": "20", "19": "21", "PT": "19"]

    private struct Claim {
        var trn: X12Segment
        var statuses: [X12Segment] = []
        var lineStatuses: [X12Segment] = []
        var inServiceLine = false
        var payerClaimControlNumber: String?
        var amount: Decimal?
    }

    static func read(_ set: X12TransactionSet) throws(X12ParseError) -> [ClaimAck] {
        var cursor = Cursor(set)
        let bht = cursor.current
        guard bht.id == "BHT" else { throw cursor.unexpected(expecting: "BHT") }
        guard bht[1] == "0085" else {
            throw bht.error("BHT01 \(bht[1]) is not 0085, the 277CA's hierarchy (source, receiver, provider, patient)")
        }
        cursor.advance()

        var levels: [String: String] = [:]
        var level: String?
        var claim: Claim?
        var acks: [ClaimAck] = []
        func finish() throws(X12ParseError) {
            if let done = claim { acks.append(try ack(done)) }
            claim = nil
        }
        while !cursor.isAtEnd {
            let segment = cursor.current
            cursor.advance()
            if segment.id == "HL" {
                try finish()
                let (id, parent, code) = (segment[1], segment[2], segment[3])
                guard !id.isEmpty, levels[id] == nil else {
                    throw segment.error("HL01 \(id) is empty or repeats an earlier HL")
                }
                guard let parentCode = parentLevel[code] else {
                    throw segment.error("HL03 \(code) is not a 277CA level (20, 21, 19 or PT)")
                }
                if parentCode.isEmpty {
                    guard parent.isEmpty else { throw segment.error("HL02 must be empty at level 20") }
                } else {
                    guard levels[parent] == parentCode else {
                        throw segment.error("HL02 \(parent) does not point to an earlier HL of level \(parentCode)")
                    }
                }
                levels[id] = code
                level = code
                continue
            }
            guard let level else { throw segment.error("\(segment.id) before the first HL") }
            // Status at the source, receiver and provider levels counts claims for the batch;
            // each claim's own status is at the patient level, which is all ClaimFlow moves.
            guard level == "PT" else { continue }
            switch segment.id {
            case "TRN":
                try finish()
                guard segment[1] == "2" else { throw segment.error("TRN01 \(segment[1]) is not 2 (the claim's trace)") }
                guard !segment[2].isEmpty else { throw segment.error("TRN02 (the patient control number) is empty") }
                claim = Claim(trn: segment)
            case "STC":
                guard claim != nil else { throw segment.error("STC before the claim's TRN") }
                let status = segment.components(1)
                guard status.count >= 2, !status[0].isEmpty, !status[1].isEmpty else {
                    throw segment.error("STC01 needs a status category and a status code (such as A7:562)")
                }
                let amount = try optionalAmount(segment, 4, name: "total claim charge")
                if claim!.inServiceLine {
                    claim!.lineStatuses.append(segment)
                } else {
                    claim!.statuses.append(segment)
                    if claim!.amount == nil { claim!.amount = amount }
                }
            case "REF" where segment[1] == "1K":
                guard claim != nil else { throw segment.error("REF*1K before the claim's TRN") }
                if !claim!.inServiceLine, !segment[2].isEmpty { claim!.payerClaimControlNumber = segment[2] }
            case "SVC":
                guard claim != nil else { throw segment.error("SVC before the claim's TRN") }
                claim!.inServiceLine = true
            default:
                break
            }
        }
        try finish()
        guard !acks.isEmpty else {
            throw set.trailer.error("the 277CA holds no claim (no TRN at a patient level, HL03 PT)")
        }
        return acks
    }

    private static func ack(_ claim: Claim) throws(X12ParseError) -> ClaimAck {
        let patientControlNumber = claim.trn[2]
        guard !claim.statuses.isEmpty else {
            throw claim.trn.error("claim \(patientControlNumber) has no STC")
        }
        var codes: [String] = []
        var categories: Set<String> = []
        for status in claim.statuses + claim.lineStatuses {
            for element in [1, 10, 11] {
                let components = status.components(element)
                guard let category = components.first, !category.isEmpty else { continue }
                categories.insert(category)
                codes.append(components.joined(separator: ":"))
            }
        }
        let rejected = !categories.isDisjoint(with: rejecting)
        guard rejected || !categories.isDisjoint(with: accepting) else {
            throw claim.statuses[0].error(
                "claim \(patientControlNumber): no status category accepts or rejects it (A0 to A8); "
                    + "found \(categories.sorted().joined(separator: ", "))"
            )
        }
        return ClaimAck(
            patientControlNumber: patientControlNumber, accepted: !rejected, statusCodes: codes,
            payerClaimControlNumber: claim.payerClaimControlNumber, amount: claim.amount)
    }
}

// MARK: - 835

/// One 835 transaction set: one payment (check, EFT or notice) from one payer.
private struct Payment {
    var payerID: String?
    var checkNumber: String?
    var claims: [RemittanceClaim]
}

private enum RemittanceReader {
    static let statusCodes: Set<String> = ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]
    static let groupCodes: Set<String> = ["CO", "OA", "PI", "PR", "CR"]

    private struct Claim {
        var claim: RemittanceClaim
        var inServiceLine = false
    }

    static func read(_ set: X12TransactionSet) throws(X12ParseError) -> Payment {
        var cursor = Cursor(set)
        let bpr = cursor.current
        guard bpr.id == "BPR" else { throw cursor.unexpected(expecting: "BPR") }
        guard !bpr[1].isEmpty else { throw bpr.error("BPR01 (transaction handling code) is empty") }
        _ = try amount(bpr, 2, name: "total payment")
        cursor.advance()

        var trn: X12Segment?
        var inPayer = false
        var payerREF: String?
        var payerN1: String?
        var inHeader = true
        var claim: Claim?
        var claims: [RemittanceClaim] = []
        func finish() {
            if let done = claim { claims.append(done.claim) }
            claim = nil
        }
        while !cursor.isAtEnd {
            let segment = cursor.current
            cursor.advance()
            switch segment.id {
            case "TRN" where inHeader:
                guard trn == nil else { break }
                guard !segment[2].isEmpty else { throw segment.error("TRN02 (check or EFT trace number) is empty") }
                trn = segment
            case "N1" where inHeader:
                inPayer = segment[1] == "PR"
                if inPayer, !segment[3].isEmpty, !segment[4].isEmpty { payerN1 = segment[4] }
            case "REF" where inPayer && segment[1] == "2U":
                if !segment[2].isEmpty { payerREF = segment[2] }
            case "LX":
                finish()
                inHeader = false
                inPayer = false
            case "CLP":
                finish()
                inHeader = false
                inPayer = false
                claim = Claim(claim: try clp(segment))
            case "CAS":
                guard claim != nil else { throw segment.error("CAS outside a claim (no CLP before it)") }
                claim!.claim.adjustments += try adjustments(segment)
            case "MOA":
                guard claim != nil else { throw segment.error("MOA outside a claim (no CLP before it)") }
                claim!.claim.remarkCodes += (3...7).map { segment[$0] }.filter { !$0.isEmpty }
            case "MIA":
                guard claim != nil else { throw segment.error("MIA outside a claim (no CLP before it)") }
                claim!.claim.remarkCodes += ([5] + Array(20...24)).map { segment[$0] }.filter { !$0.isEmpty }
            case "SVC":
                guard claim != nil else { throw segment.error("SVC outside a claim (no CLP before it)") }
                guard !segment.components(1).isEmpty else { throw segment.error("SVC01 (the procedure) is empty") }
                _ = try amount(segment, 2, name: "line charge")
                _ = try amount(segment, 3, name: "line payment")
                claim!.inServiceLine = true
            case "LQ":
                guard claim?.inServiceLine == true else { throw segment.error("LQ outside a service line (no SVC before it)") }
                if segment[1] == "HE" {
                    guard !segment[2].isEmpty else { throw segment.error("LQ02 (the remark code) is empty") }
                    claim!.claim.remarkCodes.append(segment[2])
                }
            case "PLB":
                finish()
                inHeader = false
                inPayer = false
                try checkProviderAdjustment(segment)
            default:
                break
            }
        }
        finish()
        guard let trn else { throw set.trailer.error("the 835 has no TRN (check or EFT trace number)") }
        let payerID = payerREF ?? payerN1 ?? (trn[3].isEmpty ? nil : trn[3])
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
        guard !segment[1].isEmpty else { throw segment.error("CLP01 (the patient control number) is empty") }
        guard !segment[2].isEmpty else { throw segment.error("CLP02 (the claim status) is empty") }
        guard statusCodes.contains(segment[2]) else {
            throw segment.error("CLP02 \(segment[2]) is not a claim status code (1, 2, 3, 4, 19, 20, 21, 22, 23 or 25)")
        }
        return RemittanceClaim(
            patientControlNumber: segment[1], statusCode: segment[2],
            charge: try amount(segment, 3, name: "total claim charge"),
            paid: try amount(segment, 4, name: "claim payment"),
            patientResponsibility: try optionalAmount(segment, 5, name: "patient responsibility"),
            payerClaimControlNumber: segment[7].isEmpty ? nil : segment[7])
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
                    throw segment.error("\(name("CAS", first + 1)) has an amount without a reason code (\(name("CAS", first)))")
                }
                continue
            }
            result.append(
                RemittanceClaim.Adjustment(
                    groupCode: group, reasonCode: reason,
                    amount: try amount(segment, first + 1, name: "adjustment amount for reason \(reason)"),
                    quantity: try optionalAmount(segment, first + 2, name: "adjustment quantity")))
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
                throw segment.error("\(name("PLB", first + 1)) has an amount without a reason (\(name("PLB", first)))")
            }
            _ = try amount(segment, first + 1, name: "provider adjustment amount")
        }
    }
}

// MARK: - Reading helpers

/// Walks a transaction set's body; past its end it stands on the SE, so "expected X, found
/// SE" names the place where a required segment is missing.
private struct Cursor {
    let set: X12TransactionSet
    private(set) var index = 0

    init(_ set: X12TransactionSet) {
        self.set = set
    }

    var isAtEnd: Bool { index >= set.body.count }
    var current: X12Segment { isAtEnd ? set.trailer : set.body[index] }

    mutating func advance() { index += 1 }

    func unexpected(expecting expected: String) -> X12ParseError {
        let found = current
        return isAtEnd
            ? found.error("the transaction set ends where \(expected) is required")
            : found.error("expected \(expected), found \(found.id)")
    }
}

/// `CAS05`, `PLB10`: X12 names elements with two digits.
private func name(_ segment: String, _ element: Int) -> String {
    segment + (element < 10 ? "0" : "") + String(element)
}

private func amount(_ segment: X12Segment, _ element: Int, name label: String) throws(X12ParseError) -> Decimal {
    guard let value = try optionalAmount(segment, element, name: label) else {
        throw segment.error("\(name(segment.id, element)) (\(label)) is missing")
    }
    return value
}

/// X12's R type: an optional minus, up to 18 digits and at most one decimal point; no
/// exponent, no plus sign, no thousands separators.
private func optionalAmount(_ segment: X12Segment, _ element: Int, name label: String) throws(X12ParseError) -> Decimal? {
    let text = segment[element]
    guard !text.isEmpty else { return nil }
    var digits = 0
    var points = 0
    var valid = true
    for (offset, character) in text.enumerated() {
        if character.isASCIIDigit {
            digits += 1
        } else if character == "." {
            points += 1
        } else if !(character == "-" && offset == 0) {
            valid = false
        }
    }
    guard valid, (1...18).contains(digits), points <= 1,
        let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    else {
        throw segment.error("\(name(segment.id, element)) \(text) (\(label)) is not an amount")
    }
    return value
}

private func controlNumber(_ text: String) -> Int? {
    guard (1...9).contains(text.count), text.allSatisfy(\.isASCIIDigit) else { return nil }
    return Int(text)
}

private func setCount(_ text: String) -> Int? {
    guard (1...6).contains(text.count), text.allSatisfy(\.isASCIIDigit) else { return nil }
    return Int(text)
}
