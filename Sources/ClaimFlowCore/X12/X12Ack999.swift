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

enum Ack999Reader {
    /// IK501 and AK901: `A` accepts, `E` accepts with errors noted, `M`, `R`, `W` and `X`
    /// reject. AK901 may also say `P` (partially accepted), which is neither.
    static let acceptance: [String: Bool] = ["A": true, "E": true, "M": false, "R": false, "W": false, "X": false]

    static func read(_ set: X12TransactionSet) throws(X12ParseError) -> [TransactionSetAck] {
        var cursor = X12Cursor(set)
        let ak1 = try cursor.next("AK1", expecting: "AK1 (the acknowledged group)")
        guard let group = ak1.controlNumber(at: 2) else {
            throw ak1.error("AK102 \(ak1[2]) is not a group control number (1 to 9 digits)")
        }

        var acks: [TransactionSetAck] = []
        while let ak2 = cursor.next(ifOneOf: ["AK2"]) {
            let number = try ak2.required(2, "the acknowledged ST02")
            var codes: [String] = []
            while let note = cursor.next(ifOneOf: ["IK3", "CTX", "IK4"]) {
                switch note.id {
                case "IK3":
                    guard !note[1].isEmpty, !note[4].isEmpty else {
                        throw note.error("IK3 needs the segment id (IK301) and the error code (IK304)")
                    }
                    codes.append("IK3:" + note[4])
                case "IK4":
                    codes.append("IK4:" + (try note.required(3, "the element error code")))
                default:
                    break
                }
            }
            let ik5 = try cursor.next("IK5", expecting: "IK5 closing the AK2 loop of transaction set \(number)")
            guard let accepted = acceptance[ik5[1]] else {
                throw ik5.error("IK501 \(ik5[1]) is not A, E, M, R, W or X")
            }
            codes += ik5.values(2...6).map { "IK5:" + $0 }
            acks.append(
                TransactionSetAck(
                    groupControlNumber: group, transactionSetControlNumber: number, accepted: accepted, errorCodes: codes))
        }

        let ak9 = try cursor.next("AK9", expecting: "AK2 or AK9")
        let groupAccepted = acceptance[ak9[1]]
        guard groupAccepted != nil || ak9[1] == "P" else {
            throw ak9.error("AK901 \(ak9[1]) is not A, E, P, M, R, W or X")
        }
        var counts: [Int] = []
        for element in 2...4 {
            guard let count = ak9.count(at: element) else {
                throw ak9.error("\(ak9.elementName(element)) \(ak9[element]) is not a transaction set count")
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
        let groupCodes = ak9.values(5...9).map { "AK9:" + $0 }
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
        guard cursor.isAtEnd else { throw cursor.current.error("\(cursor.current.id) after AK9; AK9 ends a 999") }
        return acks
    }
}
