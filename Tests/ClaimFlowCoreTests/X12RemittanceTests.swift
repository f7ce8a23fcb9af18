import ClaimFlowCore
import Foundation
import Testing

@Suite("Payer answers: 835 payments, lines and balancing")
struct X12RemittanceTests {
    private struct NotARemittance: Error {}

    private static func payments(_ text: String) throws -> [RemittancePayment] {
        guard case .remittance(let payments) = try X12AnswerParser.parse(text) else { throw NotARemittance() }
        return payments
    }

    private static func payment(_ text: String) throws -> RemittancePayment {
        let payments = try payments(text)
        try #require(payments.count == 1)
        return payments[0]
    }

    private static func amount(_ text: String) -> Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))! }

    @Test("service lines: REF*6R, AMT*B6, LQ*HE, and line CAS kept apart from claim CAS")
    func serviceLines() throws {
        let text = try AnswerSample.answer("835-line-denial.x12")
        let payment = try Self.payment(text)
        #expect(payment.payerID == "60054")
        #expect(payment.checkNumber == "EFT20260325001")
        #expect(payment.totalPaid == Self.amount("137.2"))
        #expect(payment.creditDebit == "C")
        #expect(payment.paymentMethod == "ACH")
        #expect(payment.paymentDate == "20260325")
        #expect(payment.segmentPosition == 3)
        #expect(payment.providerAdjustments.isEmpty)
        #expect(payment.balanceFinding == nil)

        let claim = try #require(payment.claims.first)
        #expect(payment.claims.count == 1)
        #expect(claim.patientControlNumber == AnswerSample.pcn1)
        #expect(claim.statusCode == "1")
        #expect(claim.charge == 300)
        #expect(claim.paid == Self.amount("137.2"))
        #expect(claim.patientResponsibility == 30)
        #expect(claim.payerClaimControlNumber == "2026070123460")
        #expect(claim.segmentPosition == 15)
        // The CAS before the first SVC is the claim's (sequestration); the others are the lines'.
        #expect(claim.adjustments == [.init(groupCode: "CO", reasonCode: "253", amount: Self.amount("2.8"))])
        #expect(claim.remarkCodes.isEmpty)

        try #require(claim.lines.count == 2)
        let paid = claim.lines[0]
        #expect(
            paid
                == RemittanceLine(
                    procedureCode: "99214", charge: 200, paid: 140, units: 1, lineItemControlNumber: "1", allowed: 170,
                    adjustments: [
                        .init(groupCode: "CO", reasonCode: "45", amount: 30), .init(groupCode: "PR", reasonCode: "2", amount: 30),
                    ],
                    segmentPosition: 19))
        let denied = claim.lines[1]
        #expect(
            denied
                == RemittanceLine(
                    procedureCode: "93000", charge: 100, paid: 0, units: 1, lineItemControlNumber: "2",
                    adjustments: [.init(groupCode: "CO", reasonCode: "97", amount: 100)], remarkCodes: ["N20"],
                    segmentPosition: 25))
        #expect(paid.isBalanced && denied.isBalanced)

        #expect(claim.allAdjustments.map(\.reasonCode) == ["253", "45", "2", "97"])
        #expect(claim.reasonCodes == ["253", "45", "2", "97"])
        #expect(claim.allRemarkCodes == ["N20"])
        #expect(!claim.isDenied)
        #expect(claim.balanceFindings.isEmpty)
    }

    @Test("PLB with two pairs: a WO recoupment quoting the claim it takes back, and L6 interest (negative)")
    func providerAdjustments() throws {
        let text = try AnswerSample.answer("835-provider-adjustments.x12")
        let payment = try Self.payment(text)
        #expect(
            payment.providerAdjustments == [
                ProviderAdjustment(
                    providerID: "1234567893", fiscalPeriodDate: "20261231", reasonCode: "WO", reference: "2026070123457",
                    amount: 50, segmentPosition: 24),
                ProviderAdjustment(
                    providerID: "1234567893", fiscalPeriodDate: "20261231", reasonCode: "L6", amount: Self.amount("-1.25"),
                    segmentPosition: 24),
            ])
        // 180 paid on the claim, less 50 taken back, plus 1.25 interest.
        #expect(payment.totalPaid == Self.amount("131.25"))
        #expect(payment.balanceFinding == nil)
        #expect(payment.claims.map(\.balanceFindings) == [[]])
    }

    @Test("BPR02 that is not what the claims and PLB add up to is a balance finding")
    func paymentOutOfBalance() throws {
        let text = try AnswerSample.edit(AnswerSample.answer("835-provider-adjustments.x12"), "BPR*I*131.25*", "BPR*I*180*")
        let payment = try Self.payment(text)
        #expect(payment.balanceFinding == "claim payments 180 − provider adjustments 48.75 = 131.25, not BPR02 180")
    }

    @Test("a debit (BPR03 D): the provider owes the payer what the recoupment leaves")
    func debit() throws {
        // 180 paid, 250 taken back, 1.25 interest: the provider owes 68.75.
        let text = try AnswerSample.edit(
            AnswerSample.edit(AnswerSample.answer("835-provider-adjustments.x12"), "BPR*I*131.25*C*", "BPR*I*68.75*D*"),
            "WO:2026070123457*50*", "WO:2026070123457*250*")
        let payment = try Self.payment(text)
        #expect(payment.creditDebit == "D")
        #expect(payment.balanceFinding == nil)

        let credit = try Self.payment(try AnswerSample.edit(text, "BPR*I*68.75*D*", "BPR*I*68.75*C*"))
        #expect(credit.balanceFinding != nil)
    }

    @Test("a claim and a line that are out of balance each get a finding, by element and amount")
    func claimOutOfBalance() throws {
        let text = try AnswerSample.answer("835-line-denial.x12")
        let claimOff = try Self.payment(
            AnswerSample.edit(AnswerSample.edit(text, "*1*300*137.2*", "*1*300*140*"), "BPR*I*137.2*", "BPR*I*140*"))
        #expect(claimOff.balanceFinding == nil)
        #expect(claimOff.claims[0].balanceFindings == ["CLP03 300 − adjustments 162.8 = 137.2, not CLP04 140"])

        let lineOff = try Self.payment(AnswerSample.edit(text, "SVC*HC:99214*200*140**1", "SVC*HC:99214*200*150**1"))
        #expect(!lineOff.claims[0].lines[0].isBalanced)
        #expect(
            lineOff.claims[0].balanceFindings == ["service line 1: SVC02 200 − adjustments 60 = 140, not SVC03 150"])
    }

    @Test("a reversal (CLP02 22, negative amounts) and the corrected claim's payment both balance")
    func reversal() throws {
        let payment = try Self.payment(AnswerSample.answer("835-reversal-and-correction.x12"))
        try #require(payment.claims.count == 2)
        let (reversal, correction) = (payment.claims[0], payment.claims[1])
        #expect(reversal.patientControlNumber == AnswerSample.pcn1 && correction.patientControlNumber == AnswerSample.pcn1)
        #expect(reversal.isReversal && !reversal.isDenied)
        #expect(reversal.charge == -125 && reversal.paid == -80 && reversal.patientResponsibility == -20)
        #expect(reversal.payerClaimControlNumber == "2026070123456")
        #expect(reversal.lines.map(\.charge) == [-125])
        #expect(reversal.lines.map(\.units) == [-1])
        #expect(reversal.allAdjustments.map(\.amount) == [-25, -20])
        #expect(reversal.balanceFindings.isEmpty)

        #expect(!correction.isReversal && correction.statusCode == "1")
        #expect(correction.paid == 90)
        #expect(correction.payerClaimControlNumber == "2026070123499")
        #expect(correction.balanceFindings.isEmpty)
        // -80 taken back, 90 paid: 10 in the payment.
        #expect(payment.totalPaid == 10)
        #expect(payment.balanceFinding == nil)
    }

    @Test(
        "every CLP02 claim status is read; only 4 is a denial and only 22 a reversal",
        arguments: ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"])
    func claimStatus(status: String) throws {
        let text = try AnswerSample.edit(AnswerSample.answer("835-line-denial.x12"), "*1*300*137.2*", "*\(status)*300*137.2*")
        let claim = try #require(try Self.payment(text).claims.first)
        #expect(claim.statusCode == status)
        #expect(claim.isDenied == (status == "4"))
        #expect(claim.isReversal == (status == "22"))
        #expect(claim.balanceFindings.isEmpty)
    }

    @Test("a CLP02 outside the code list is refused", arguments: ["0", "5", "24", "A"])
    func unknownStatus(status: String) throws {
        let text = try AnswerSample.edit(AnswerSample.answer("835-line-denial.x12"), "*1*300*137.2*", "*\(status)*300*137.2*")
        let error = AnswerSample.expectError(text, at: 15, "CLP")
        #expect(error?.reason == "CLP02 \(status) is not a claim status code (1, 2, 3, 4, 19, 20, 21, 22, 23 or 25)")
    }
}
