import ClaimFlowCore
import Foundation
import Testing

/// Reads `text`, which must be readable.
private func read(_ text: String) throws -> X12AnswerFile {
    try X12AnswerParser.read(text)
}

@Suite("Payer answers: envelope quirks read as warnings")
struct X12EnvelopeQuirkTests {
    @Test("SE02 with other leading zeros, a GE02 and an IEA02 that differ: read, with one warning each in file order")
    func envelopeQuirks() throws {
        let file = try read(AnswerSample.answer("999-envelope-quirks.x12"))
        #expect(file.interchangeControlNumber == 909)
        #expect(
            file.answer
                == .acknowledgment999([
                    TransactionSetAck(groupControlNumber: 44, transactionSetControlNumber: "0001", accepted: true)
                ]))
        #expect(file.interchangeAcks.isEmpty)
        #expect(
            file.warnings == [
                X12Warning(
                    segmentPosition: 8, segmentID: "SE",
                    reason: "SE02 00001 matches ST02 0001 only as a number (other leading zeros)"),
                X12Warning(
                    segmentPosition: 9, segmentID: "GE", reason: "GE02 1 does not match GS06 909; read as the end of group 909"),
                X12Warning(
                    segmentPosition: 10, segmentID: "IEA",
                    reason: "IEA02 000000001 does not match ISA13 000000909; read as the end of interchange 000000909"),
            ])
        // `parse` gives the same answer and drops the warnings.
        #expect(try X12AnswerParser.parse(AnswerSample.answer("999-envelope-quirks.x12")) == file.answer)
    }

    @Test("an SE02 that is another number, or not a number, is still refused")
    func differentSE02() throws {
        let text = try AnswerSample.answer("999-envelope-quirks.x12")
        for (trailer, reason) in [
            ("SE*6*00002", "SE02 00002 does not match ST02 0001"), ("SE*6*0001A", "SE02 0001A does not match ST02 0001"),
            ("SE*6", "SE02 (empty) does not match ST02 0001"),
        ] {
            let error = AnswerSample.expectError(try AnswerSample.edit(text, "SE*6*00001", trailer), at: 8, "SE")
            #expect(error?.reason == reason)
        }
        // Shorter than an ST02 may be, but the same number.
        let short = try read(AnswerSample.edit(text, "SE*6*00001", "SE*6*1"))
        #expect(short.warnings.first?.reason == "SE02 1 matches ST02 0001 only as a number (other leading zeros)")
    }

    @Test("an empty GE02 or IEA02 is a warning that says so")
    func emptyTrailerNumbers() throws {
        let text = try AnswerSample.edit(AnswerSample.edit(AnswerSample.ack999, "GE*1*901", "GE*1"), "IEA*1*000000901", "IEA*1")
        let file = try read(text)
        #expect(
            file.warnings.map(\.reason) == [
                "GE02 (empty) does not match GS06 901; read as the end of group 901",
                "IEA02 (empty) does not match ISA13 000000901; read as the end of interchange 000000901",
            ])
    }

    @Test("counts that disagree stay errors: they are how a cut or spliced file shows")
    func countsStayErrors() throws {
        let text = try AnswerSample.answer("999-envelope-quirks.x12")
        AnswerSample.expectError(try AnswerSample.edit(text, "SE*6*", "SE*7*"), at: 8, "SE")
        AnswerSample.expectError(try AnswerSample.edit(text, "GE*1*1", "GE*2*1"), at: 9, "GE")
        AnswerSample.expectError(try AnswerSample.edit(text, "IEA*1*", "IEA*2*"), at: 10, "IEA")
    }

    @Test("ST03 naming the guide without its addenda is a warning; another guide is refused")
    func st03() throws {
        let text = try AnswerSample.edit(AnswerSample.remittance835, "ST*835*0001~", "ST*835*0001*005010X221~")
        let file = try read(text)
        #expect(
            file.warnings == [
                X12Warning(
                    segmentPosition: 3, segmentID: "ST",
                    reason: "ST03 005010X221 differs from GS08 005010X221A1; both name the 835 guide")
            ])
        #expect(file.answer == (try X12AnswerParser.parse(AnswerSample.remittance835)))

        let other = try AnswerSample.edit(AnswerSample.remittance835, "ST*835*0001~", "ST*835*0001*005010X222A1~")
        let error = AnswerSample.expectError(other, at: 3, "ST")
        #expect(error?.reason == "ST03 005010X222A1 does not match GS08 005010X221A1")
    }

    @Test("HL ids out of order: read by their HL02 parents, with a warning on each HL out of sequence")
    func hlOutOfOrder() throws {
        let text = try AnswerSample.answer("277ca-hl-out-of-order.x12")
        let file = try read(text)
        guard case .claimAcknowledgment(let acknowledgment) = file.answer else {
            Issue.record("expected a 277CA, got \(file.answer)")
            return
        }
        #expect(
            acknowledgment.claims == [
                ClaimAck(
                    patientControlNumber: AnswerSample.pcn1, accepted: true, statusCodes: ["A2:20:PR"],
                    payerClaimControlNumber: "2026070123470", amount: 125, segmentPosition: 24),
                ClaimAck(
                    patientControlNumber: AnswerSample.pcn2, accepted: true, statusCodes: ["A1:19:PR"], amount: 125,
                    segmentPosition: 30),
            ])
        #expect(acknowledgment.levelRejections.isEmpty)
        #expect(
            file.warnings == [
                X12Warning(
                    segmentPosition: 22, segmentID: "HL",
                    reason: "HL01 5 is out of sequence (4 expected after HL01 3); the HL is read by its HL02 parent"),
                X12Warning(
                    segmentPosition: 28, segmentID: "HL",
                    reason: "HL01 4 is out of sequence (6 expected after HL01 5); the HL is read by its HL02 parent"),
            ])
    }

    @Test("HL ids that repeat, or an HL02 that names no earlier HL of the level above, are still refused")
    func hlStructureErrors() throws {
        let text = try AnswerSample.answer("277ca-hl-out-of-order.x12")
        let repeated = AnswerSample.expectError(try AnswerSample.edit(text, "HL*4*3*PT", "HL*5*3*PT"), at: 28, "HL")
        #expect(repeated?.reason == "HL01 5 is empty or repeats an earlier HL")

        // HL 6 does not exist; HL 5 is a patient, not a provider.
        let missing = AnswerSample.expectError(try AnswerSample.edit(text, "HL*4*3*PT", "HL*4*6*PT"), at: 28, "HL")
        #expect(missing?.reason == "HL02 6 does not point to an earlier HL of level 19")
        AnswerSample.expectError(try AnswerSample.edit(text, "HL*4*3*PT", "HL*4*5*PT"), at: 28, "HL")

        // A parent that comes later in the file is not read as one.
        let forward = try AnswerSample.edit(
            AnswerSample.edit(AnswerSample.claimAck277CA, "HL*4*3*PT", "HL*4*5*PT"), "HL*5*3*PT", "HL*5*3*19")
        AnswerSample.expectError(forward, at: try AnswerSample.position(of: "HL*4*5*PT", in: forward), "HL")
    }

    @Test("warnings name segments, elements and control numbers, never names or member ids")
    func warningsCarryNoPHI() throws {
        var warnings: [X12Warning] = []
        for name in AnswerSample.answerNames {
            warnings += try read(AnswerSample.answer(name)).warnings
        }
        #expect(warnings.count == 5)
        for warning in warnings {
            for phi in ["OBRIEN", "SEAN", "MULLER", "LENA", "W123456789", "W123456790", "RIVERSIDE", AnswerSample.pcn1] {
                #expect(!warning.description.contains(phi), "\(warning)")
            }
        }
    }
}

@Suite("Payer answers: 277CA levels")
struct X12ClaimAckLevelTests {
    private static func acknowledgment(_ text: String) throws -> ClaimAcknowledgment {
        guard case .claimAcknowledgment(let acknowledgment) = try X12AnswerParser.parse(text) else {
            throw ReadError.notA277CA
        }
        return acknowledgment
    }

    private enum ReadError: Error { case notA277CA }

    @Test("a 277CA that rejects the whole batch at the information receiver, with no provider or patient loops")
    func batchRejected() throws {
        let file = try read(AnswerSample.answer("277ca-batch-rejected.x12"))
        #expect(file.warnings.isEmpty)
        #expect(file.interchangeControlNumber == 904)
        #expect(
            file.answer
                == .claimAcknowledgment(
                    ClaimAcknowledgment(
                        claims: [],
                        levelRejections: [
                            .init(level: .batch, batchTrace: "000000043", statusCodes: ["A3:24:41"], segmentPosition: 13)
                        ])))
    }

    @Test("a 277CA that rejects one provider's claims and accepts another's claim")
    func providerRejected() throws {
        let acknowledgment = try Self.acknowledgment(AnswerSample.answer("277ca-provider-rejected.x12"))
        #expect(
            acknowledgment.levelRejections == [
                .init(
                    level: .provider, batchTrace: "000000044", providerID: "1987654328", statusCodes: ["A3:562:85"],
                    segmentPosition: 21)
            ])
        #expect(
            acknowledgment.claims == [
                ClaimAck(
                    patientControlNumber: AnswerSample.pcn3, accepted: true, statusCodes: ["A1:19:PR"], amount: 125,
                    segmentPosition: 32)
            ])
    }

    @Test("every rejecting category rejects at the batch and provider levels; accepting ones are passed over")
    func levelCategories() throws {
        let text = try AnswerSample.answer("277ca-provider-rejected.x12")
        for category in ["A3", "A4", "A6", "A7", "A8"] {
            let batch = try Self.acknowledgment(
                AnswerSample.edit(text, "STC*A1:19:PR*20260313*WQ*325", "STC*\(category):21*20260313*U*325"))
            #expect(batch.levelRejections.map(\.level) == [.batch, .provider])
            #expect(batch.levelRejections.first?.statusCodes == ["\(category):21"])
            #expect(batch.levelRejections.first?.providerID == nil)
        }
        for category in ["A0", "A1", "A2", "A5"] {
            let provider = try Self.acknowledgment(AnswerSample.edit(text, "STC*A3:562:85**U*200", "STC*\(category):19:PR**WQ*200"))
            #expect(provider.levelRejections.isEmpty)
        }
        // A rejection in STC10 or STC11 counts, and is listed after STC01.
        let second = try Self.acknowledgment(
            AnswerSample.edit(text, "STC*A3:562:85**U*200", "STC*A1:19:PR**U*200******A7:562:85"))
        #expect(second.levelRejections.map(\.statusCodes) == [["A1:19:PR", "A7:562:85"]])
    }

    @Test("an STC above the claims without a status is refused: it could be a rejection")
    func levelSTCWithoutStatus() throws {
        let text = try AnswerSample.edit(AnswerSample.answer("277ca-batch-rejected.x12"), "STC*A3:24:41*", "STC*A3*")
        let error = AnswerSample.expectError(text, at: 13, "STC")
        #expect(error?.reason == "STC01 needs a status category and a status code (such as A7:562)")
    }

    @Test("a claim received (A1), then rejected (A7) in a later file: each file is read as it is")
    func acceptedThenRejected() throws {
        let first = try Self.acknowledgment(AnswerSample.answer("277ca-claim-received.x12"))
        let later = try Self.acknowledgment(AnswerSample.answer("277ca-claim-rejected-later.x12"))
        #expect(
            first.claims == [
                ClaimAck(
                    patientControlNumber: AnswerSample.pcn1, accepted: true, statusCodes: ["A1:19:PR"], amount: 125,
                    segmentPosition: 24)
            ])
        #expect(
            later.claims == [
                ClaimAck(
                    patientControlNumber: AnswerSample.pcn1, accepted: false, statusCodes: ["A7:400"], amount: 125,
                    segmentPosition: 24)
            ])
        #expect(first.levelRejections.isEmpty && later.levelRejections.isEmpty)
    }

    @Test("a 277CA with no claim and no rejection is read with a warning: it changes no claim")
    func nothingInIt() throws {
        let text = try AnswerSample.answer("277ca-claim-received.x12")
        let start = try #require(text.range(of: "HL*4*3*PT"))
        let end = try #require(text.range(of: "SE*25*0001"))
        let empty = text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "SE*20*0001")
        let file = try read(empty)
        #expect(file.answer == .claimAcknowledgment(ClaimAcknowledgment(claims: [])))
        #expect(
            file.warnings == [
                X12Warning(
                    segmentPosition: 22, segmentID: "SE",
                    reason: "the 277CA lists no claim (no TRN at a patient level, HL03 PT) and rejects nothing at the "
                        + "information receiver or provider level: it changes no claim")
            ])
    }
}

@Suite("Payer answers: TA1")
struct X12InterchangeAckTests {
    @Test("a file of one TA1 that accepts our interchange")
    func accepted() throws {
        let file = try read(AnswerSample.answer("ta1-accepted.x12"))
        let ack = InterchangeAck(interchangeControlNumber: 42, acknowledgmentCode: "A", noteCode: "000", segmentPosition: 2)
        #expect(file.answer == .interchangeAcknowledgment([ack]))
        #expect(file.answer.kind == .interchangeAckTA1)
        #expect(file.interchangeAcks == [ack])
        #expect(file.interchangeControlNumber == 910)
        #expect(file.warnings.isEmpty)
        #expect(!ack.isRejected)
    }

    @Test("a file of one TA1 that rejects our interchange (note 022, invalid control structure)")
    func rejected() throws {
        let file = try read(AnswerSample.answer("ta1-rejected.x12"))
        guard case .interchangeAcknowledgment(let acks) = file.answer else {
            Issue.record("expected a TA1, got \(file.answer)")
            return
        }
        #expect(acks == [InterchangeAck(interchangeControlNumber: 43, acknowledgmentCode: "R", noteCode: "022", segmentPosition: 2)])
        #expect(acks.first?.isRejected == true)
    }

    @Test("several TA1 in one file, in file order")
    func several() throws {
        let text = try AnswerSample.edit(
            AnswerSample.answer("ta1-accepted.x12"), "TA1*000000042*260310*1355*A*000~\n",
            "TA1*000000042*260310*1355*A*000~\nTA1*000000044*260310*1357*E*024~\n")
        let file = try read(text)
        #expect(file.interchangeAcks.map(\.interchangeControlNumber) == [42, 44])
        #expect(file.interchangeAcks.map(\.acknowledgmentCode) == ["A", "E"])
        #expect(file.interchangeAcks.map(\.segmentPosition) == [2, 3])
        #expect(file.answer == .interchangeAcknowledgment(file.interchangeAcks))
    }

    @Test("a TA1 riding along with a 999: the answer is the 999, the TA1 is kept beside it")
    func withAck999() throws {
        let file = try read(AnswerSample.answer("999-with-ta1.x12"))
        #expect(
            file.answer
                == .acknowledgment999([
                    TransactionSetAck(groupControlNumber: 45, transactionSetControlNumber: "0001", accepted: true),
                    TransactionSetAck(groupControlNumber: 45, transactionSetControlNumber: "0002", accepted: true),
                ]))
        #expect(
            file.interchangeAcks == [
                InterchangeAck(interchangeControlNumber: 45, acknowledgmentCode: "A", noteCode: "000", segmentPosition: 2)
            ])
        #expect(file.warnings.isEmpty)
    }

    @Test(
        "TA1 elements are checked",
        arguments: [
            (
                "TA1*000000042*260310*1355*X*000",
                "TA104 X is not an interchange acknowledgment code (A accepted, E accepted with errors, R rejected)"
            ),
            (
                "TA1*000000042*260310*1355",
                "TA104 (empty) is not an interchange acknowledgment code (A accepted, E accepted with errors, R rejected)"
            ),
            ("TA1*00000004A*260310*1355*A*000", "TA101 00000004A is not an interchange control number (the ISA13 acknowledged, 9 digits)"),
            ("TA1**260310*1355*A*000", "TA101 (empty) is not an interchange control number (the ISA13 acknowledged, 9 digits)"),
            (
                "TA1*0000000042*260310*1355*A*000",
                "TA101 0000000042 is not an interchange control number (the ISA13 acknowledged, 9 digits)"
            ),
            ("TA1*000000042*260310*1355*R", "TA105 (the note code) is empty; a TA1 with TA104 R must say what was wrong"),
            ("TA1*000000042*260310*1355*R*22", "TA105 22 is not an interchange note code (3 digits, such as 000 or 022)"),
        ])
    func elementErrors(segment: String, reason: String) throws {
        let text = try AnswerSample.edit(AnswerSample.answer("ta1-accepted.x12"), "TA1*000000042*260310*1355*A*000", segment)
        let error = AnswerSample.expectError(text, at: 2, "TA1")
        #expect(error?.reason == reason)
    }

    @Test("a short TA101 or an accepting TA1 without a note code is read, with a warning")
    func lenientElements() throws {
        let text = try AnswerSample.edit(AnswerSample.answer("ta1-accepted.x12"), "TA1*000000042*260310*1355*A*000", "TA1*42*260310*1355*A")
        let file = try read(text)
        #expect(
            file.interchangeAcks == [
                InterchangeAck(interchangeControlNumber: 42, acknowledgmentCode: "A", noteCode: "000", segmentPosition: 2)
            ])
        #expect(
            file.warnings.map(\.description) == [
                "segment 2 (TA1): TA101 42 is not 9 digits; read as interchange 000000042",
                "segment 2 (TA1): TA105 (the note code) is empty; read as 000 (no error)",
            ])
    }

    @Test("an interchange with neither a group nor a TA1, or a TA1 inside a group, is refused")
    func envelopeErrors() throws {
        let empty = try AnswerSample.edit(AnswerSample.answer("ta1-accepted.x12"), "TA1*000000042*260310*1355*A*000~\n", "")
        let error = AnswerSample.expectError(empty, at: 2, "IEA")
        #expect(error?.reason == "the interchange has no functional group and no TA1")

        // IEA01 counts groups: a TA1 file says 0.
        AnswerSample.expectError(try AnswerSample.edit(AnswerSample.answer("ta1-accepted.x12"), "IEA*0*", "IEA*1*"), at: 3, "IEA")

        let inside = try AnswerSample.edit(AnswerSample.ack999, "GE*1*901", "TA1*000000042*260310*1355*A*000~\nGE*1*901")
        AnswerSample.expectError(inside, at: 16, "TA1")
    }

    @Test("ST01 TA1 is not a transaction set")
    func noTA1TransactionSet() {
        #expect(X12AnswerKind(transactionSetIdentifier: "TA1") == nil)
    }
}
