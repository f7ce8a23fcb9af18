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

    /// What the envelope says of each kind, one row a kind: ST01, the GS01 of the functional
    /// group it must travel in, and the GS08 of its HIPAA implementation guide.
    private var identifiers: (transactionSet: String, functionalGroup: String, guide: String) {
        switch self {
        case .ack999: ("999", "FA", "005010X231A1")
        case .claimAck277CA: ("277", "HN", "005010X214")
        case .remittance835: ("835", "HP", "005010X221A1")
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
