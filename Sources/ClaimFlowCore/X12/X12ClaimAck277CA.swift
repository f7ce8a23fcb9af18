public import Foundation

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
    /// 1-based position of the claim's TRN in the file.
    public var segmentPosition: Int = 0

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

/// Everything a 277CA says: each claim's status, and any status given above the claims for
/// a whole batch (loop 2200B, the information receiver) or a whole provider (2200C).
public struct ClaimAcknowledgment: Sendable, Hashable {
    public var claims: [ClaimAck]
    /// Statuses above the claim level that reject (A3, A4, A6, A7, A8): they apply to every
    /// claim of the batch, or of the provider in that batch, that the file does not list.
    public var levelRejections: [LevelRejection]

    public init(claims: [ClaimAck], levelRejections: [LevelRejection] = []) {
        self.claims = claims
        self.levelRejections = levelRejections
    }

    /// A rejection given for a whole batch or a whole billing provider.
    public struct LevelRejection: Sendable, Hashable {
        public enum Level: String, Sendable, Hashable, Codable {
            /// Loop 2000B/2200B: every claim in the batch.
            case batch
            /// Loop 2000C/2200C: every claim in the batch billed by `providerID`.
            case provider
        }

        public var level: Level
        /// TRN02 of loop 2200B: the batch's trace, which clearinghouses take from the BHT03
        /// (or the ISA13 or GS06) we sent. Nil when the file has none.
        public var batchTrace: String?
        /// NM109 of loop 2100C (the billing provider's NPI); nil at the batch level.
        public var providerID: String?
        /// The status composites as `category:status[:entity]`, such as `A3:24`.
        public var statusCodes: [String]
        /// 1-based position of the STC that rejects.
        public var segmentPosition: Int

        public init(level: Level, batchTrace: String?, providerID: String? = nil, statusCodes: [String], segmentPosition: Int = 0) {
            self.level = level
            self.batchTrace = batchTrace
            self.providerID = providerID
            self.statusCodes = statusCodes
            self.segmentPosition = segmentPosition
        }
    }
}

enum ClaimAckReader {
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
        var cursor = X12Cursor(set)
        let bht = try cursor.next("BHT")
        guard bht[1] == "0085" else {
            throw bht.error("BHT01 \(bht[1]) is not 0085, the 277CA's hierarchy (source, receiver, provider, patient)")
        }

        var levels: [String: String] = [:]
        var level: String?
        var claim: Claim?
        var acks: [ClaimAck] = []
        func finish() throws(X12ParseError) {
            if let done = claim { acks.append(try ack(done)) }
            claim = nil
        }
        for segment in cursor.rest {
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
                try segment.required(2, "the patient control number")
                claim = Claim(trn: segment)
            case "STC":
                guard claim != nil else { throw segment.error("STC before the claim's TRN") }
                let status = segment.components(1)
                guard status.count >= 2, !status[0].isEmpty, !status[1].isEmpty else {
                    throw segment.error("STC01 needs a status category and a status code (such as A7:562)")
                }
                let amount = try segment.optionalAmount(4, "total claim charge")
                if claim!.inServiceLine {
                    claim!.lineStatuses.append(segment)
                } else {
                    claim!.statuses.append(segment)
                    if claim!.amount == nil { claim!.amount = amount }
                }
            case "REF" where segment[1] == "1K":
                guard claim != nil else { throw segment.error("REF*1K before the claim's TRN") }
                if !claim!.inServiceLine, let number = segment.value(2) { claim!.payerClaimControlNumber = number }
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
