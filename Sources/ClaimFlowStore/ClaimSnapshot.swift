import ClaimFlowCore
import Foundation

/// What one claim version carries, as it was when the version was made: the `claims.snapshot`
/// column (sql/0005_claim_snapshots.sql). The 837P and the biller's view are built from it
/// alone, so nothing that changes the live patient, subscriber, practice, provider, payer or
/// code rows afterwards changes the claim.
///
/// The column's keys are the Codable keys of the ClaimFlowCore types below, so it decodes
/// into them directly; money is text, as ``MoneyAmount`` reads it.
struct ClaimSnapshot: Decodable {
    var frequencyCode: String
    /// REF*F8: the payer's number for the claim this version replaces or voids; nil for an original.
    var replacedPayerClaimNumber: String?
    @MoneyAmount var totalCharge: Decimal
    var dateOfService: CalendarDate
    var placeOfService: String
    var billingProvider: Practice
    var renderingProvider: X12Claim.RenderingProvider?
    var payer: Payer?
    var memberID: String?
    var groupNumber: String?
    var relationship: String
    var subscriber: Person?
    var patient: Person
    var codes: CodeAssignment
    /// What intake sent beyond the basics; absent from snapshots of encounters without any.
    var details: X12Claim.Details?

    /// Decodes the column's text. The error names the claim only: the text is PHI.
    init(json: String, claimID: UUID) throws {
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
        } catch {
            throw Unreadable(claimID: claimID)
        }
    }

    /// The 837P's input; a claim with no payer or subscriber has none.
    func x12Claim(id claimID: UUID) throws -> X12Claim {
        guard let payer, let subscriber, let memberID else {
            throw StoreError(.notFound, "claim \(claimID) not found, or it has no payer or subscriber")
        }
        var claim = X12Claim(
            claimID: claimID, frequencyCode: frequencyCode, payerClaimControlNumber: replacedPayerClaimNumber,
            totalCharge: totalCharge, placeOfService: placeOfService, dateOfService: dateOfService,
            billingProvider: billingProvider, renderingProvider: renderingProvider, payer: payer,
            // SBR09 is the payer's profile as it was at handoff (older snapshots decode as CI).
            claimFilingIndicator: payer.claimFilingIndicator, memberID: memberID,
            groupNumber: groupNumber, subscriber: subscriber, relationship: relationship, patient: patient,
            diagnoses: codes.diagnoses, lines: codes.lines
        )
        claim.details = details ?? X12Claim.Details()
        return claim
    }

    struct Unreadable: Error, CustomStringConvertible {
        let claimID: UUID
        var description: String { "the snapshot of claim \(claimID) cannot be read" }
    }
}
