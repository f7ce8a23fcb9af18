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
    /// Interchange acknowledgment (TA1, in the envelope, no transaction set): was the
    /// interchange's envelope readable.
    case interchangeAckTA1 = "TA1"

    /// The kind for an ST01 value (`999`, `277` or `835`); nil for anything else.
    public init?(transactionSetIdentifier: String) {
        guard let kind = Self.allCases.first(where: { $0.transactionSetIdentifier == transactionSetIdentifier.trimmingSpaces })
        else { return nil }
        self = kind
    }

    /// What the envelope says of each kind, one row a kind: ST01, the GS01 of the functional
    /// group it must travel in, and the GS08 of its HIPAA implementation guide.
    private var identifiers: (transactionSet: String, functionalGroup: String, guide: String) {
        switch self {
        case .ack999: ("999", "FA", "005010X231A1")
        case .claimAck277CA: ("277", "HN", "005010X214")
        case .remittance835: ("835", "HP", "005010X221A1")
        // A TA1 travels outside any group, so it has no ST01, GS01 or guide of its own.
        case .interchangeAckTA1: ("TA1", "", "")
        }
    }

    /// ST01.
    public var transactionSetIdentifier: String { identifiers.transactionSet }

    /// GS01: the functional group a transaction set of this kind must travel in.
    var functionalIdentifier: String { identifiers.functionalGroup }

    /// GS08 of the HIPAA implementation guide. Only the part before the addenda letters is
    /// compared, so an unamended guide (005010X221) is read like its addendum (005010X221A1);
    /// a 277 claim status response (005010X212) is not a claim acknowledgment and is refused.
    var implementationGuide: String { identifiers.guide }

    var implementationGuidePrefix: String { String(implementationGuide.prefix(10)) }
}

/// What a payer's file says, read whole.
public enum X12Answer: Sendable, Hashable {
    /// Every AK2 loop of every 999 in the file, in file order.
    case acknowledgment999([TransactionSetAck])
    /// Every 277CA in the file: its claims and its provider- and batch-level statuses.
    case claimAcknowledgment(ClaimAcknowledgment)
    /// Every 835 transaction set (one payment each) in the file, in file order.
    case remittance([RemittancePayment])
    /// A file holding only TA1 segments (no functional group): the receiver's answer to an
    /// interchange's envelope.
    case interchangeAcknowledgment([InterchangeAck])

    public var kind: X12AnswerKind {
        switch self {
        case .acknowledgment999: .ack999
        case .claimAcknowledgment: .claimAck277CA
        case .remittance: .remittance835
        case .interchangeAcknowledgment: .interchangeAckTA1
        }
    }
}

/// Something odd in a payer's file that does not change what it says about claims: read
/// anyway, and reported to the uploader (an IEA02 that differs from ISA13, say).
public struct X12Warning: Sendable, Hashable, Codable, CustomStringConvertible {
    /// 1-based position of the segment in the file (ISA is 1).
    public let segmentPosition: Int
    public let segmentID: String
    /// Names segments, elements and control numbers only; never names or member ids.
    public let reason: String

    public init(segmentPosition: Int, segmentID: String, reason: String) {
        self.segmentPosition = segmentPosition
        self.segmentID = segmentID
        self.reason = reason
    }

    public var description: String { "segment \(segmentPosition) (\(segmentID)): \(reason)" }
}

/// A payer's file read whole: the answer, the TA1s that rode along in its envelope, and
/// what was odd about it.
public struct X12AnswerFile: Sendable, Hashable {
    public var answer: X12Answer
    /// ISA13 of the answer file itself.
    public var interchangeControlNumber: Int
    /// TA1 segments in the envelope (also in `answer` when the file holds nothing else).
    public var interchangeAcks: [InterchangeAck]
    public var warnings: [X12Warning]

    public init(answer: X12Answer, interchangeControlNumber: Int, interchangeAcks: [InterchangeAck] = [], warnings: [X12Warning] = []) {
        self.answer = answer
        self.interchangeControlNumber = interchangeControlNumber
        self.interchangeAcks = interchangeAcks
        self.warnings = warnings
    }
}

/// One TA1: the receiver's answer to the envelope of an interchange we sent.
public struct InterchangeAck: Sendable, Hashable {
    /// TA101: the ISA13 of our interchange.
    public var interchangeControlNumber: Int
    /// TA104: `A` accepted, `E` accepted with errors, `R` rejected (nothing in it was read).
    public var acknowledgmentCode: String
    /// TA105: the note code, such as `022` (invalid control structure); `000` when none.
    public var noteCode: String
    /// 1-based position of the TA1 in the file.
    public var segmentPosition: Int

    public init(interchangeControlNumber: Int, acknowledgmentCode: String, noteCode: String, segmentPosition: Int = 0) {
        self.interchangeControlNumber = interchangeControlNumber
        self.acknowledgmentCode = acknowledgmentCode
        self.noteCode = noteCode
        self.segmentPosition = segmentPosition
    }

    /// TA104 `R`: the whole interchange was refused, so none of its claims reached the payer.
    public var isRejected: Bool { acknowledgmentCode == "R" }
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
        var payments: [RemittancePayment] = []
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
                // X12AnswerKind(transactionSetIdentifier:) never gives TA1: it has no ST.
                case .interchangeAckTA1: break
                }
            }
        }
        switch kind {
        case .ack999: return .acknowledgment999(acks)
        case .claimAck277CA: return .claimAcknowledgment(ClaimAcknowledgment(claims: claimAcks))
        case .interchangeAckTA1: return .interchangeAcknowledgment([])
        // Groups are never empty (the envelope check refuses them), so nil cannot occur.
        case .remittance835, nil: return .remittance(payments)
        }
    }
}
