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
        amount: Decimal? = nil, segmentPosition: Int = 0
    ) {
        self.patientControlNumber = patientControlNumber
        self.accepted = accepted
        self.statusCodes = statusCodes
        self.payerClaimControlNumber = payerClaimControlNumber
        self.amount = amount
        self.segmentPosition = segmentPosition
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

/// Reads one 277CA transaction set: the hierarchy of information source (HL03 20),
/// information receiver (21, the batch we sent), billing provider (19) and patient (PT, one
/// claim each).
///
/// Each claim's status is read at the patient level (2200D). Above it, a status that rejects
/// (2200B for the batch, 2200C for one provider) becomes a `LevelRejection`; accepting
/// statuses there only count claims and are passed over.
///
/// HL ids must be unique and each HL02 must name an earlier HL of the level above, which is
/// how the standard nests the loops; ids that do not count 1, 2, 3... in file order are a
/// warning, since the HL02 links alone say where each loop belongs.
enum ClaimAckReader {
    static let accepting: Set<String> = ["A0", "A1", "A2", "A5"]
    static let rejecting: Set<String> = ["A3", "A4", "A6", "A7", "A8"]
    /// HL03 of each 277CA level and the level its HL02 must point to.
    static let parentLevel: [String: String] = ["20": "", "21": "20", "19": "21", "PT": "19"]

    struct Result {
        var claims: [ClaimAck] = []
        var levelRejections: [ClaimAcknowledgment.LevelRejection] = []
    }

    /// One HL and what its loops above the claims say.
    private struct Level {
        var code: String
        var parent: String
        /// TRN02 of loop 2200B (HL03 21).
        var batchTrace: String?
        /// NM109 of the NM1*85 of loop 2100C (HL03 19).
        var providerID: String?
    }

    private struct Claim {
        var trn: X12Segment
        var statuses: [X12Segment] = []
        var lineStatuses: [X12Segment] = []
        var inServiceLine = false
        var payerClaimControlNumber: String?
        var amount: Decimal?
    }

    static func read(_ set: X12TransactionSet, warnings: inout [X12Warning]) throws(X12ParseError) -> Result {
        var cursor = X12Cursor(set)
        let bht = try cursor.next("BHT")
        guard bht[1] == "0085" else {
            throw bht.error("BHT01 \(bht[1]) is not 0085, the 277CA's hierarchy (source, receiver, provider, patient)")
        }

        var levels: [String: Level] = [:]
        var current: String?
        var previousID: String?
        var claim: Claim?
        var result = Result()
        // A rejection's batch trace and provider id may follow its STC in a sloppy file, so
        // they are looked up once the whole transaction set has been read.
        var rejections: [(hl: String, stc: X12Segment, codes: [String])] = []
        func finish() throws(X12ParseError) {
            if let done = claim { result.claims.append(try ack(done)) }
            claim = nil
        }
        for segment in cursor.rest {
            if segment.id == "HL" {
                try finish()
                let (id, parent, code) = (segment[1], segment[2], segment[3])
                guard !id.isEmpty, levels[id] == nil else {
                    throw segment.error("HL01 \(segment.shown(1)) is empty or repeats an earlier HL")
                }
                guard let parentCode = parentLevel[code] else {
                    throw segment.error("HL03 \(segment.shown(3)) is not a 277CA level (20, 21, 19 or PT)")
                }
                if parentCode.isEmpty {
                    guard parent.isEmpty else { throw segment.error("HL02 must be empty at level 20") }
                } else {
                    guard levels[parent]?.code == parentCode else {
                        throw segment.error("HL02 \(segment.shown(2)) does not point to an earlier HL of level \(parentCode)")
                    }
                }
                if let quirk = outOfSequence(id, after: previousID) { warnings.append(segment.warning(quirk)) }
                previousID = id
                levels[id] = Level(code: code, parent: parent)
                current = id
                continue
            }
            guard let current, let level = levels[current] else {
                throw segment.error("\(segment.id) before the first HL")
            }
            switch (level.code, segment.id) {
            case ("21", "TRN"):
                if level.batchTrace == nil { levels[current]?.batchTrace = segment.value(2) }
            case ("19", "NM1") where segment[1] == "85":
                if level.providerID == nil { levels[current]?.providerID = segment.value(9) }
            case ("21", "STC"), ("19", "STC"):
                let codes = try statusCodes(segment)
                if codes.contains(where: { rejecting.contains(category($0)) }) {
                    rejections.append((current, segment, codes))
                }
            case ("PT", "TRN"):
                try finish()
                guard segment[1] == "2" else { throw segment.error("TRN01 \(segment[1]) is not 2 (the claim's trace)") }
                try segment.required(2, "the patient control number")
                claim = Claim(trn: segment)
            case ("PT", "STC"):
                guard claim != nil else { throw segment.error("STC before the claim's TRN") }
                _ = try statusCodes(segment)
                let amount = try segment.optionalAmount(4, "total claim charge")
                if claim!.inServiceLine {
                    claim!.lineStatuses.append(segment)
                } else {
                    claim!.statuses.append(segment)
                    if claim!.amount == nil { claim!.amount = amount }
                }
            case ("PT", "REF") where segment[1] == "1K":
                guard claim != nil else { throw segment.error("REF*1K before the claim's TRN") }
                if !claim!.inServiceLine, let number = segment.value(2) { claim!.payerClaimControlNumber = number }
            case ("PT", "SVC"):
                guard claim != nil else { throw segment.error("SVC before the claim's TRN") }
                claim!.inServiceLine = true
            default:
                // Counts (QTY, AMT), dates and names above the claims say nothing ClaimFlow acts on.
                break
            }
        }
        try finish()

        for (hl, stc, codes) in rejections {
            let level = levels[hl]!
            let isBatch = level.code == "21"
            let batch = isBatch ? level : levels[level.parent]
            result.levelRejections.append(
                ClaimAcknowledgment.LevelRejection(
                    level: isBatch ? .batch : .provider, batchTrace: batch?.batchTrace,
                    providerID: isBatch ? nil : level.providerID, statusCodes: codes, segmentPosition: stc.position))
        }
        if result.claims.isEmpty && result.levelRejections.isEmpty {
            // Read rather than refused: it moves no claim, and the uploader is told so.
            warnings.append(
                set.trailer.warning(
                    "the 277CA lists no claim (no TRN at a patient level, HL03 PT) and rejects nothing at the "
                        + "information receiver or provider level: it changes no claim"))
        }
        return result
    }

    /// Why an HL01 is out of the standard's sequence (1 for the first HL, each next one the
    /// previous plus 1), or nil when it is in sequence.
    private static func outOfSequence(_ id: String, after previous: String?) -> String? {
        let expected = previous.flatMap { Int($0) }.map { $0 + 1 } ?? (previous == nil ? 1 : nil)
        guard id.allSatisfy(\.isASCIIDigit), let number = Int(id) else {
            return "HL01 \(id) is not a number; the HL is read by its HL02 parent"
        }
        guard let expected, number != expected else { return nil }
        let after = previous.map { "after HL01 \($0)" } ?? "for the first HL"
        return "HL01 \(id) is out of sequence (\(expected) expected \(after)); the HL is read by its HL02 parent"
    }

    /// The status composites of an STC (STC01, then STC10 and STC11 when present) as
    /// `category:status[:entity]`. STC01 must have a category and a status.
    private static func statusCodes(_ stc: X12Segment) throws(X12ParseError) -> [String] {
        let status = stc.components(1)
        guard status.count >= 2, !status[0].isEmpty, !status[1].isEmpty else {
            throw stc.error("STC01 needs a status category and a status code (such as A7:562)")
        }
        var codes: [String] = []
        for element in [1, 10, 11] {
            let components = stc.components(element)
            guard let category = components.first, !category.isEmpty else { continue }
            codes.append(components.joined(separator: ":"))
        }
        return codes
    }

    private static func category(_ code: String) -> String {
        String(code.prefix { $0 != ":" })
    }

    private static func ack(_ claim: Claim) throws(X12ParseError) -> ClaimAck {
        let patientControlNumber = claim.trn[2]
        guard !claim.statuses.isEmpty else {
            throw claim.trn.error("claim \(patientControlNumber) has no STC")
        }
        var codes: [String] = []
        for status in claim.statuses + claim.lineStatuses {
            codes += try statusCodes(status)
        }
        let categories = Set(codes.map(category))
        let rejected = !categories.isDisjoint(with: rejecting)
        guard rejected || !categories.isDisjoint(with: accepting) else {
            throw claim.statuses[0].error(
                "claim \(patientControlNumber): no status category accepts or rejects it (A0 to A8); "
                    + "found \(categories.sorted().joined(separator: ", "))"
            )
        }
        return ClaimAck(
            patientControlNumber: patientControlNumber, accepted: !rejected, statusCodes: codes,
            payerClaimControlNumber: claim.payerClaimControlNumber, amount: claim.amount,
            segmentPosition: claim.trn.position)
    }
}
