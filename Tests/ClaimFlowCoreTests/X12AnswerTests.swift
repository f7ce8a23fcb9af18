import ClaimFlowCore
import Foundation
import Testing

/// The sample answers in `Tests/Fixtures/x12` (and `answers/` under it), one segment per line
/// so that a segment's position in the file is its line number. pyx12 validates those that
/// follow their implementation guide to the letter (`samplesPassPyX12`).
enum AnswerSample {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures/x12")

    static let names = ["999-two-of-three-accepted.x12", "277ca-one-accepted-one-rejected.x12", "835-paid-and-denied.x12"]

    /// The files in `answers/`: what real payers send, quirks and all.
    static let answerNames = [
        "277ca-batch-rejected.x12", "277ca-claim-received.x12", "277ca-claim-rejected-later.x12",
        "277ca-hl-out-of-order.x12", "277ca-provider-rejected.x12", "835-line-denial.x12",
        "835-provider-adjustments.x12", "835-reversal-and-correction.x12", "999-envelope-quirks.x12",
        "999-with-ta1.x12", "ta1-accepted.x12", "ta1-rejected.x12",
    ]

    /// The files in `answers/` that pyx12 passes. The others break the guide on purpose: a
    /// TA1 without a group, HL ids out of order, a 277CA rejecting above its claims without
    /// the provider or patient loops the guide requires, control numbers that differ.
    static let guideAnswerNames = [
        "277ca-claim-received.x12", "277ca-claim-rejected-later.x12", "835-line-denial.x12",
        "835-provider-adjustments.x12", "835-reversal-and-correction.x12",
    ]

    static func text(_ name: String) throws -> String {
        try String(contentsOf: folder.appending(path: name), encoding: .utf8)
    }

    /// A file in `answers/`.
    static func answer(_ name: String) throws -> String { try text("answers/" + name) }

    static var ack999: String { get throws { try text("999-two-of-three-accepted.x12") } }
    static var claimAck277CA: String { get throws { try text("277ca-one-accepted-one-rejected.x12") } }
    static var remittance835: String { get throws { try text("835-paid-and-denied.x12") } }

    /// The claims ClaimFlow sent, as `X12Writer` numbers them (CLM01).
    static let claim1 = UUID(uuidString: "00000001-8B86-4011-B42D-00C04FC96A01")!
    static let claim2 = UUID(uuidString: "00000002-8B86-4011-B42D-00C04FC96A01")!
    static let claim3 = UUID(uuidString: "00000003-8B86-4011-B42D-00C04FC96A01")!
    static let pcn1 = X12Claim.patientControlNumber(for: claim1)
    static let pcn2 = X12Claim.patientControlNumber(for: claim2)
    static let pcn3 = X12Claim.patientControlNumber(for: claim3)

    /// The 1-based line (and so segment position) of the first segment starting with `prefix`.
    static func position(of prefix: String, in text: String) throws -> Int {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return try #require(lines.firstIndex { $0.hasPrefix(prefix) }) + 1
    }

    /// `text` with its only occurrence of `old` replaced, so a typo in a test cannot leave the
    /// file unchanged and pass for the wrong reason.
    static func edit(_ text: String, _ old: String, _ new: String) throws -> String {
        #expect(text.components(separatedBy: old).count == 2, "\(old) must occur exactly once")
        let range = try #require(text.range(of: old))
        return text.replacingCharacters(in: range, with: new)
    }

    /// Parses `text`, expecting an error at `position` on segment `id`.
    @discardableResult
    static func expectError(
        _ text: String, at position: Int, _ id: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> X12ParseError? {
        let error = #expect(throws: X12ParseError.self, sourceLocation: sourceLocation) {
            try X12AnswerParser.parse(text)
        }
        #expect(error?.segmentPosition == position, "\(error?.description ?? "")", sourceLocation: sourceLocation)
        #expect(error?.segmentID == id, "\(error?.description ?? "")", sourceLocation: sourceLocation)
        return error
    }
}

@Suite("Payer answers: 999, 277CA, 835")
struct X12AnswerTests {
    // MARK: Reading good files

    @Test("a 999 accepting 2 of 3 transaction sets, with IK3/IK4 notes on the rejected one")
    func ack999() throws {
        let answer = try X12AnswerParser.parse(AnswerSample.ack999)
        #expect(answer.kind == .ack999)
        guard case .acknowledgment999(let acks) = answer else {
            Issue.record("expected a 999, got \(answer)")
            return
        }
        #expect(
            acks == [
                TransactionSetAck(groupControlNumber: 42, transactionSetControlNumber: "0001", accepted: true),
                TransactionSetAck(
                    groupControlNumber: 42, transactionSetControlNumber: "0002", accepted: false,
                    errorCodes: ["IK3:8", "IK4:7", "IK5:5"]),
                TransactionSetAck(groupControlNumber: 42, transactionSetControlNumber: "0003", accepted: true),
            ])
        #expect(acks.allSatisfy { !$0.coversWholeGroup })
    }

    @Test("a 277CA accepting one claim and rejecting one (STC*A7:562)")
    func claimAck277CA() throws {
        let answer = try X12AnswerParser.parse(AnswerSample.claimAck277CA)
        #expect(answer.kind == .claimAck277CA)
        guard case .claimAcknowledgment(let acknowledgment) = answer else {
            Issue.record("expected a 277CA, got \(answer)")
            return
        }
        // The receiver and provider levels accept (A1), so nothing is rejected above the claims.
        #expect(acknowledgment.levelRejections.isEmpty)
        #expect(
            acknowledgment.claims == [
                ClaimAck(
                    patientControlNumber: AnswerSample.pcn1, accepted: true, statusCodes: ["A2:20:PR"],
                    payerClaimControlNumber: "2026070123456", amount: 125,
                    segmentPosition: try AnswerSample.position(of: "TRN*2*\(AnswerSample.pcn1)", in: AnswerSample.claimAck277CA)),
                // The service line's STC is listed after the claim's.
                ClaimAck(
                    patientControlNumber: AnswerSample.pcn2, accepted: false, statusCodes: ["A7:562:85", "A7:562:85"],
                    payerClaimControlNumber: nil, amount: 125,
                    segmentPosition: try AnswerSample.position(of: "TRN*2*\(AnswerSample.pcn2)", in: AnswerSample.claimAck277CA)),
            ])
    }

    @Test("an 835 with a paid claim and denials for CARC 11 and CARC 29")
    func remittance835() throws {
        let answer = try X12AnswerParser.parse(AnswerSample.remittance835)
        #expect(answer.kind == .remittance835)
        guard case .remittance(let payments) = answer else {
            Issue.record("expected an 835, got \(answer)")
            return
        }
        let payment = try #require(payments.first)
        #expect(payments.count == 1)
        #expect(payment.payerID == "60054")
        #expect(payment.checkNumber == "EFT20260320001")
        #expect(payment.totalPaid == 80)
        #expect(payment.balanceFinding == nil)
        let claims = payment.claims
        try #require(claims.count == 3)

        let paid = claims[0]
        #expect(paid.patientControlNumber == AnswerSample.pcn1)
        #expect(paid.statusCode == "1")
        #expect(!paid.isDenied)
        #expect(paid.charge == 125)
        #expect(paid.paid == 80)
        #expect(paid.patientResponsibility == 20)
        #expect(paid.payerClaimControlNumber == "2026070123456")
        // The CAS segments follow the SVC, so they are the service line's.
        #expect(paid.adjustments.isEmpty)
        #expect(
            paid.allAdjustments == [
                .init(groupCode: "CO", reasonCode: "45", amount: 25), .init(groupCode: "PR", reasonCode: "3", amount: 20),
            ])
        #expect(paid.lines.map(\.adjustments) == [paid.allAdjustments])
        #expect(paid.allRemarkCodes.isEmpty)
        #expect(paid.payerID == "60054")
        #expect(paid.checkNumber == "EFT20260320001")

        let inconsistent = claims[1]
        #expect(inconsistent.patientControlNumber == AnswerSample.pcn2)
        #expect(inconsistent.isDenied)
        #expect(inconsistent.paid == 0)
        #expect(inconsistent.adjustments == [.init(groupCode: "CO", reasonCode: "11", amount: 125)])
        #expect(inconsistent.reasonCodes == ["11"])
        #expect(inconsistent.remarkCodes == ["M76"])

        let late = claims[2]
        #expect(late.patientControlNumber == AnswerSample.pcn3)
        #expect(late.isDenied)
        #expect(late.charge == Decimal(string: "180.5")!)
        #expect(late.allAdjustments == [.init(groupCode: "CO", reasonCode: "29", amount: Decimal(string: "180.5")!)])
        #expect(late.reasonCodes == ["29"])
        #expect(late.remarkCodes.isEmpty)
        #expect(late.allRemarkCodes == ["N211"])

        // Every claim balances: charge less adjustments (claim and lines) is what was paid.
        for claim in claims {
            #expect(claim.charge - claim.allAdjustments.reduce(0) { $0 + $1.amount } == claim.paid)
            #expect(claim.balanceFindings.isEmpty)
        }
    }

    @Test("the samples answer for claims numbered the way X12Writer numbers them")
    func patientControlNumbers() {
        #expect(AnswerSample.pcn1 == "000000018B864011B42D")
        #expect(AnswerSample.pcn2 == "000000028B864011B42D")
        #expect(AnswerSample.pcn3 == "000000038B864011B42D")
    }

    @Test("ST01 tells the kinds apart")
    func kindDetection() {
        #expect(X12AnswerKind(transactionSetIdentifier: "999") == .ack999)
        #expect(X12AnswerKind(transactionSetIdentifier: "277") == .claimAck277CA)
        #expect(X12AnswerKind(transactionSetIdentifier: "835") == .remittance835)
        #expect(X12AnswerKind(transactionSetIdentifier: "837") == nil)
        #expect(X12AnswerKind(transactionSetIdentifier: "997") == nil)
        #expect(X12AnswerKind.claimAck277CA.transactionSetIdentifier == "277")
        #expect(X12AnswerKind(rawValue: "277CA") == .claimAck277CA)
    }

    // MARK: The samples themselves

    @Test(
        "the samples pass pyx12's validation against the 999, 277CA and 835 guides",
        arguments: AnswerSample.names + AnswerSample.guideAnswerNames.map { "answers/" + $0 })
    func samplesPassPyX12(name: String) throws {
        let verdict = try X12Valid.validate(AnswerSample.folder.appending(path: name))
        #expect(verdict.ok, "pyx12 on \(name):\n\(verdict.output)")
    }

    @Test(
        "pyx12 refuses a sample with one error in it, so its verdict is read right",
        arguments: [
            ("999-two-of-three-accepted.x12", "IK5*R*5~", "IK5*Q*5~"),
            ("277ca-one-accepted-one-rejected.x12", "STC*A2:20:PR*20260311*", "STC*A2:20:PR*20261311*"),
            ("835-paid-and-denied.x12", "CLP*\(AnswerSample.pcn3)*4*", "CLP*\(AnswerSample.pcn3)*9*"),
        ])
    func pyx12RefusesBrokenSample(name: String, old: String, new: String) throws {
        let text = try AnswerSample.edit(AnswerSample.text(name), old, new)
        let verdict = try X12Valid.validate(text: text, name: name)
        #expect(!verdict.ok, "pyx12 on \(name) with \(new):\n\(verdict.output)")
        #expect(verdict.output.contains(": Failure"), "\(verdict.output)")
    }

    // MARK: Layouts

    @Test(
        "separators come from the ISA, and line breaks between segments are layout",
        arguments: AnswerSample.names + AnswerSample.answerNames.map { "answers/" + $0 })
    func layouts(name: String) throws {
        let text = try AnswerSample.text(name)
        let expected = try X12AnswerParser.read(text)
        let variants = [
            text.replacingOccurrences(of: "~\n", with: "~"),
            text.replacingOccurrences(of: "~\n", with: "~\r\n"),
            "\u{FEFF}\r\n" + text,
            // Other separators, and a line break as the segment terminator.
            text.replacingOccurrences(of: "*", with: "|").replacingOccurrences(of: ":", with: ">")
                .replacingOccurrences(of: "~\n", with: "\n"),
            text.replacingOccurrences(of: "~\n", with: "\r\n"),
        ]
        for variant in variants {
            #expect(try X12AnswerParser.read(variant) == expected)
        }
    }

    @Test("positions count segments, not lines")
    func positionsWithoutLineBreaks() throws {
        let text = try AnswerSample.edit(AnswerSample.ack999, "SE*13*0001", "SE*12*0001").replacingOccurrences(of: "~\n", with: "~")
        AnswerSample.expectError(text, at: 15, "SE")
    }

    // MARK: Envelope errors

    @Test("a truncated file (no IEA) is an error at its last segment")
    func truncated() throws {
        let lines = try AnswerSample.ack999.split(separator: "\n").map(String.init)
        let noIEA = lines.dropLast().map { $0 + "\n" }.joined()
        let error = AnswerSample.expectError(noIEA, at: 16, "GE")
        #expect(error?.reason.contains("without an IEA") == true)

        let insideSet = lines.prefix(10).map { $0 + "\n" }.joined()
        let inside = AnswerSample.expectError(insideSet, at: 10, "IK4")
        #expect(inside?.reason.contains("inside transaction set 0001") == true)

        // Cut in the middle of segment 14 (AK9), so it has no terminator.
        let midSegment = lines.prefix(13).joined() + "AK9*P*3"
        let mid = AnswerSample.expectError(midSegment, at: 14, "AK9")
        #expect(mid?.reason.contains("no segment terminator") == true)
    }

    @Test("a wrong SE count names the SE and both counts")
    func wrongSECount() throws {
        let text = try AnswerSample.edit(AnswerSample.ack999, "SE*13*0001", "SE*12*0001")
        let error = AnswerSample.expectError(text, at: 15, "SE")
        #expect(error?.description == "segment 15 (SE): the SE count says 12 segments, the transaction set has 13")

        // A segment lost from the middle of an 835 shows up the same way.
        let shorter = try AnswerSample.edit(AnswerSample.remittance835, "DTM*405*20260318~\n", "")
        let position = try AnswerSample.position(of: "SE*", in: shorter)
        let lost = AnswerSample.expectError(shorter, at: position, "SE")
        #expect(lost?.reason == "the SE count says 35 segments, the transaction set has 34")
    }

    @Test("a wrong GE count names the GE")
    func wrongGECount() throws {
        let text = try AnswerSample.edit(AnswerSample.ack999, "GE*1*901", "GE*2*901")
        let error = AnswerSample.expectError(text, at: 16, "GE")
        #expect(error?.reason == "GE01 says 2 transaction sets, the functional group has 1")
    }

    @Test("a wrong IEA count names the IEA")
    func wrongIEACount() throws {
        let text = try AnswerSample.edit(AnswerSample.claimAck277CA, "IEA*1*", "IEA*2*")
        let position = try AnswerSample.position(of: "IEA*", in: text)
        AnswerSample.expectError(text, at: position, "IEA")
    }

    @Test("control numbers that do not match name the trailer: an SE02 is refused, a GE02 or IEA02 is a warning")
    func mismatchedControlNumbers() throws {
        let se = AnswerSample.expectError(try AnswerSample.edit(AnswerSample.ack999, "SE*13*0001", "SE*13*0002"), at: 15, "SE")
        #expect(se?.reason == "SE02 0002 does not match ST02 0001")

        // A GE or IEA closes the one group or interchange that is open, whatever it says.
        let ge = try X12AnswerParser.read(try AnswerSample.edit(AnswerSample.ack999, "GE*1*901", "GE*1*902"))
        #expect(
            ge.warnings == [
                X12Warning(
                    segmentPosition: 16, segmentID: "GE", reason: "GE02 902 does not match GS06 901; read as the end of group 901")
            ])
        #expect(ge.answer == (try X12AnswerParser.parse(AnswerSample.ack999)))

        let iea = try X12AnswerParser.read(try AnswerSample.edit(AnswerSample.ack999, "IEA*1*000000901", "IEA*1*000000911"))
        #expect(
            iea.warnings.map(\.description) == [
                "segment 17 (IEA): IEA02 000000911 does not match ISA13 000000901; read as the end of interchange 000000901"
            ])
        #expect(iea.interchangeControlNumber == 901)
    }

    @Test(
        "garbage is an error on the ISA",
        arguments: [
            "", "   \n", "hello, this is not an X12 file", "claim_id,amount\n1,125.00\n",
            "ISA*00*short*00*~GS*FA~", String(repeating: "ISA", count: 40),
        ])
    func garbage(text: String) {
        AnswerSample.expectError(text, at: 1, "ISA")
    }

    @Test("an ISA that is not 106 characters is refused")
    func garbledISA() throws {
        // One space less in ISA02: every separator after it shifts.
        let text = try AnswerSample.ack999.replacingOccurrences(of: "ISA*00*          *", with: "ISA*00*         *")
        let error = AnswerSample.expectError(text, at: 1, "ISA")
        #expect(error?.reason.contains("ISA02 is 9 characters where 10 are required") == true)
    }

    @Test("a garbled segment in the middle names its position")
    func garbledSegment() throws {
        let text = try AnswerSample.edit(AnswerSample.remittance835, "\nDTM*405*", "\nd t*405*")
        AnswerSample.expectError(text, at: try AnswerSample.position(of: "d t*", in: text), "d t")

        let outside = try AnswerSample.edit(AnswerSample.ack999, "GE*1*901", "AK9*A*1*1*1~\nGE*1*901")
        AnswerSample.expectError(outside, at: 16, "AK9")
    }

    @Test("a transaction set that is not an answer is refused")
    func unknownTransactionType() throws {
        let text = try AnswerSample.edit(AnswerSample.ack999, "ST*999*0001", "ST*997*0001")
        let error = AnswerSample.expectError(text, at: 3, "ST")
        #expect(error?.reason.contains("997") == true)

        // An 837 sent back to us: the kind is refused before its content is read.
        let claim = try AnswerSample.edit(
            AnswerSample.edit(AnswerSample.ack999, "ST*999*0001*005010X231A1", "ST*837*0001*005010X222A1"), "GS*FA*", "GS*HC*")
        AnswerSample.expectError(claim, at: 3, "ST")
    }

    @Test("the functional group and guide must fit the transaction set")
    func wrongGroup() throws {
        let group = try AnswerSample.edit(AnswerSample.ack999, "GS*FA*", "GS*HP*")
        AnswerSample.expectError(group, at: 3, "ST")

        // A 277 claim status response (to a 276) is not a claim acknowledgment.
        let statusResponse = try AnswerSample.edit(
            AnswerSample.edit(AnswerSample.claimAck277CA, "*X*005010X214~", "*X*005010X212~"), "ST*277*0001*005010X214",
            "ST*277*0001*005010X212")
        AnswerSample.expectError(statusResponse, at: 2, "GS")
    }

    // MARK: Content errors

    @Test("a CLP without its money elements is refused")
    func clpWithoutMoney() throws {
        let line = "CLP*\(AnswerSample.pcn2)*4*125*0*0*12*2026070123457*11*1"
        let text = try AnswerSample.edit(AnswerSample.remittance835, line, "CLP*\(AnswerSample.pcn2)*4*125")
        let error = AnswerSample.expectError(text, at: try AnswerSample.position(of: "CLP*\(AnswerSample.pcn2)", in: text), "CLP")
        #expect(error?.reason == "CLP04 (claim payment) is missing")
    }

    @Test("non-numeric amounts are refused", arguments: ["2S", "25,00", "1E3", "+25", "-", "2.5.0"])
    func nonNumericAmount(amount: String) throws {
        let text = try AnswerSample.edit(AnswerSample.remittance835, "CAS*CO*45*25", "CAS*CO*45*\(amount)")
        let error = AnswerSample.expectError(text, at: try AnswerSample.position(of: "CAS*CO*45", in: text), "CAS")
        #expect(error?.reason.contains("is not an amount") == true)
    }

    @Test("an unknown CLP02 status or CAS group code is refused")
    func unknownCodes() throws {
        let status = try AnswerSample.edit(AnswerSample.remittance835, "*4*180.5*", "*9*180.5*")
        AnswerSample.expectError(status, at: try AnswerSample.position(of: "CLP*\(AnswerSample.pcn3)", in: status), "CLP")

        let group = try AnswerSample.edit(AnswerSample.remittance835, "CAS*CO*11*125", "CAS*XX*11*125")
        AnswerSample.expectError(group, at: try AnswerSample.position(of: "CAS*XX", in: group), "CAS")
    }

    @Test("an STC without a status is refused")
    func stcWithoutStatus() throws {
        let text = try AnswerSample.edit(AnswerSample.claimAck277CA, "STC*A2:20:PR*", "STC**")
        let error = AnswerSample.expectError(text, at: try AnswerSample.position(of: "STC**", in: text), "STC")
        #expect(error?.reason.contains("STC01") == true)
    }

    @Test("a claim whose status neither accepts nor rejects is refused rather than guessed")
    func unknownCategory() throws {
        let text = try AnswerSample.edit(AnswerSample.claimAck277CA, "STC*A2:20:PR*", "STC*P1:20:PR*")
        AnswerSample.expectError(text, at: try AnswerSample.position(of: "STC*P1", in: text), "STC")
    }

    @Test("a claim without TRN, or with no STC, is refused")
    func missingClaimSegments() throws {
        let noTRN = try AnswerSample.edit(AnswerSample.claimAck277CA, "TRN*2*\(AnswerSample.pcn1)~\n", "")
            .replacingOccurrences(of: "SE*39*", with: "SE*38*")
        AnswerSample.expectError(noTRN, at: try AnswerSample.position(of: "STC*A2", in: noTRN), "STC")

        let noSTC = try AnswerSample.edit(AnswerSample.claimAck277CA, "STC*A2:20:PR*20260311*WQ*125~\n", "")
            .replacingOccurrences(of: "SE*39*", with: "SE*38*")
        let error = AnswerSample.expectError(noSTC, at: try AnswerSample.position(of: "TRN*2*\(AnswerSample.pcn1)", in: noSTC), "TRN")
        #expect(error?.reason == "claim \(AnswerSample.pcn1) has no STC")
    }

    @Test("a 999 whose IK5 is missing or whose AK9 disagrees with its IK5s is refused")
    func ack999Inconsistent() throws {
        let noIK5 = try AnswerSample.edit(AnswerSample.ack999, "IK4*8*66*7*XX~\nIK5*R*5~\n", "IK4*8*66*7*XX~\n")
            .replacingOccurrences(of: "SE*13*", with: "SE*12*")
        AnswerSample.expectError(noIK5, at: 11, "AK2")

        let counts = try AnswerSample.edit(AnswerSample.ack999, "AK9*P*3*3*2", "AK9*P*3*3*3")
        let error = AnswerSample.expectError(counts, at: 14, "AK9")
        #expect(error?.reason == "AK904 says 3 transaction sets were accepted, the IK5 segments accept 2")
    }

    // MARK: Group-level and multi-payment answers

    @Test("a 999 that rejects the whole group rejects every set, listed or not")
    func groupRejected() throws {
        let listed = try AnswerSample.edit(AnswerSample.ack999, "AK9*P*3*3*2", "AK9*R*3*3*0*5")
        guard case .acknowledgment999(let acks) = try X12AnswerParser.parse(listed) else {
            Issue.record("expected a 999")
            return
        }
        #expect(acks.map(\.accepted) == [false, false, false])
        #expect(acks[0].errorCodes == ["AK9:5"])

        let body = "ST*999*0001*005010X231A1~\nAK1*HC*42*005010X222A1~\nAK9*R*3*0*0*4~\nSE*4*0001~\n"
        let text = try AnswerSample.ack999
        let start = try #require(text.range(of: "ST*999")).lowerBound
        let end = try #require(text.range(of: "GE*1*901")).lowerBound
        let unlisted = text.replacingCharacters(in: start..<end, with: body)
        guard case .acknowledgment999(let whole) = try X12AnswerParser.parse(unlisted) else {
            Issue.record("expected a 999")
            return
        }
        #expect(
            whole == [
                TransactionSetAck(
                    groupControlNumber: 42, transactionSetControlNumber: "", accepted: false, errorCodes: ["AK9:4"])
            ])
        #expect(whole[0].coversWholeGroup)
    }

    @Test("an 835 with two payments keeps each claim's payer and check")
    func twoPayments() throws {
        let text = try AnswerSample.remittance835
        let start = try #require(text.range(of: "ST*835*0001"))
        let end = try #require(text.range(of: "GE*1*903"))
        let firstSet = String(text[start.lowerBound..<end.lowerBound])
        let reversal = """
            ST*835*0002~
            BPR*H*0*C*NON************20260321~
            TRN*1*EFT20260321002*1512345678~
            DTM*405*20260319~
            N1*PR*AETNA~
            N3*151 FARMINGTON AVENUE~
            N4*HARTFORD*CT*06156~
            REF*2U*60054~
            PER*BL*PROVIDER SERVICES*TE*8005551234~
            N1*PE*RIVERSIDE FAMILY MEDICINE*XX*1234567893~
            LX*1~
            CLP*\(AnswerSample.pcn1)*22*-125*-80*-20*12*2026070123456*11*1~
            CAS*CO*45*-25~
            CAS*PR*3*-20~
            NM1*QC*1*OBRIEN*SEAN****MI*W123456789~
            PLB*1234567893*20261231*WO:2026070123456*-80~
            SE*17*0002~

            """
        let both = text.replacingOccurrences(of: firstSet, with: firstSet + reversal)
            .replacingOccurrences(of: "GE*1*903", with: "GE*2*903")
        guard case .remittance(let payments) = try X12AnswerParser.parse(both) else {
            Issue.record("expected an 835")
            return
        }
        #expect(payments.map(\.payerID) == ["60054", "60054"])
        #expect(payments.map(\.checkNumber) == ["EFT20260320001", "EFT20260321002"])
        let claims = payments.flatMap(\.claims)
        #expect(claims.map(\.payerID) == ["60054", "60054", "60054", "60054"])
        #expect(claims.map(\.checkNumber) == ["EFT20260320001", "EFT20260320001", "EFT20260320001", "EFT20260321002"])
        let last = try #require(claims.last)
        #expect(last.isReversal)
        #expect(!last.isDenied)
        #expect(last.paid == -80)
        #expect(last.adjustments.map(\.amount) == [-25, -20])
    }
}
