/// Reads TA1 segments (interchange acknowledgment): the receiver's answer to the envelope of
/// an interchange we sent, before it looks at any claim in it.
///
/// `TA1*000000901*260310*1405*R*022~`: TA101 the ISA13 acknowledged, TA102 and TA103 the
/// date and time of that interchange, TA104 `A`, `E` or `R`, TA105 the note code.
enum InterchangeAckReader {
    /// TA104: `A` accepted, `E` accepted with errors noted, `R` rejected.
    static let acknowledgmentCodes: Set<String> = ["A", "E", "R"]

    static func read(_ segment: X12Segment, warnings: inout [X12Warning]) throws(X12ParseError) -> InterchangeAck {
        guard let controlNumber = segment.controlNumber(at: 1) else {
            throw segment.error(
                "TA101 \(segment.shown(1)) is not an interchange control number (the ISA13 acknowledged, 9 digits)")
        }
        if segment[1].count != 9 {
            warnings.append(
                segment.warning("TA101 \(segment[1]) is not 9 digits; read as interchange \(padded(controlNumber))"))
        }
        let code = segment[4]
        guard acknowledgmentCodes.contains(code) else {
            throw segment.error(
                "TA104 \(segment.shown(4)) is not an interchange acknowledgment code (A accepted, E accepted with errors, R rejected)"
            )
        }
        var note = segment[5]
        if note.isEmpty {
            // An acceptance without a note means "no error"; a rejection must say why.
            guard code == "A" else {
                throw segment.error("TA105 (the note code) is empty; a TA1 with TA104 \(code) must say what was wrong")
            }
            warnings.append(segment.warning("TA105 (the note code) is empty; read as 000 (no error)"))
            note = "000"
        }
        guard note.count == 3, note.allSatisfy(\.isASCIIDigit) else {
            throw segment.error("TA105 \(note) is not an interchange note code (3 digits, such as 000 or 022)")
        }
        return InterchangeAck(
            interchangeControlNumber: controlNumber, acknowledgmentCode: code, noteCode: note,
            segmentPosition: segment.position)
    }

    /// ISA13 as written: nine digits with leading zeros.
    static func padded(_ controlNumber: Int) -> String {
        let digits = String(controlNumber)
        return String(repeating: "0", count: max(0, 9 - digits.count)) + digits
    }
}
