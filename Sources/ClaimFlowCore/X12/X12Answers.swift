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

    /// The kind for an ST01 value (`999`, `277` or `835`); nil for anything else, `TA1`
    /// included (it is a segment, never a transaction set).
    public init?(transactionSetIdentifier: String) {
        let identifier = transactionSetIdentifier.trimmingSpaces
        guard let kind = Self.allCases.first(where: { $0 != .interchangeAckTA1 && $0.transactionSetIdentifier == identifier })
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

/// Reads 999, 277CA, 835 and TA1 files. A pure function from text to answer: the envelope
/// (ISA/GS/ST counts and control numbers) is checked whole, and so is every transaction set,
/// before anything is returned.
///
/// Liberal reader: quirks of real payers' files whose meaning is clear (an IEA02 that differs
/// from ISA13, HL ids out of order, ...) are read and reported as `X12Warning`s. Only a file
/// whose claims cannot be read with certainty is refused (`X12ParseError`): a cut-off file,
/// counts that disagree, an unknown status.
///
/// Separators are taken from the ISA, so any the sender picked are read. One file holds one
/// interchange with one kind of answer (several groups and transaction sets are fine), or
/// only TA1 segments.
public enum X12AnswerParser {
    /// The answer alone; `read(_:)` also gives the file's ISA13, its TA1s and its warnings.
    public static func parse(_ text: String) throws(X12ParseError) -> X12Answer {
        try read(text).answer
    }

    public static func read(_ text: String) throws(X12ParseError) -> X12AnswerFile {
        let interchange = try X12Interchange(text)
        var warnings = interchange.warnings
        var kind: X12AnswerKind?
        var acks: [TransactionSetAck] = []
        var claimAcks = ClaimAcknowledgment(claims: [])
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
                if !convention.isEmpty, convention != group.implementationConvention {
                    // The same guide with or without its addenda (005010X221 and 005010X221A1)
                    // says the same; another guide does not.
                    guard convention.hasPrefix(setKind.implementationGuidePrefix) else {
                        throw set.header.error("ST03 \(convention) does not match GS08 \(group.implementationConvention)")
                    }
                    warnings.append(
                        set.header.warning(
                            "ST03 \(convention) differs from GS08 \(group.implementationConvention); both name the "
                                + "\(setKind.rawValue) guide"))
                }
                switch setKind {
                case .ack999: acks += try Ack999Reader.read(set)
                case .claimAck277CA:
                    let read = try ClaimAckReader.read(set, warnings: &warnings)
                    claimAcks.claims += read.claims
                    claimAcks.levelRejections += read.levelRejections
                case .remittance835: payments.append(try RemittanceReader.read(set))
                // X12AnswerKind(transactionSetIdentifier:) never gives TA1: it has no ST.
                case .interchangeAckTA1: break
                }
            }
        }
        let answer: X12Answer =
            switch kind {
            case .ack999: .acknowledgment999(acks)
            case .claimAck277CA: .claimAcknowledgment(claimAcks)
            case .remittance835: .remittance(payments)
            // No transaction set: the envelope holds TA1 segments only (X12Interchange
            // refuses an interchange with neither groups nor TA1s).
            case .interchangeAckTA1, nil: .interchangeAcknowledgment(interchange.interchangeAcks)
            }
        return X12AnswerFile(
            answer: answer, interchangeControlNumber: interchange.controlNumber,
            interchangeAcks: interchange.interchangeAcks, warnings: inFileOrder(warnings))
    }

    /// The envelope is checked before the transaction sets are read, so their warnings are
    /// found in two passes; sorted by position, keeping the order of two on one segment.
    private static func inFileOrder(_ warnings: [X12Warning]) -> [X12Warning] {
        warnings.enumerated().sorted { ($0.element.segmentPosition, $0.offset) < ($1.element.segmentPosition, $1.offset) }
            .map(\.element)
    }
}
